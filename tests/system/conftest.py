import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def aptstack(*args, check=True):
    proc = subprocess.run([str(BIN / "aptstack"), *args], capture_output=True, text=True, timeout=1800)
    if check and proc.returncode != 0:
        raise AssertionError(f"aptstack {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session", autouse=True)
def _root():
    assert os.geteuid() == 0, "the system tests build real lab hosts and must run as root"


@pytest.fixture(scope="module")
def controller_compute_lab():
    name = "st-cc"
    aptstack("lab", "down", "--name", name)
    result = aptstack("lab", "up", "--name", name, "--topology", "controller-compute", "--json")
    lab = json.loads(result.stdout)
    try:
        yield lab
    finally:
        aptstack("lab", "down", "--name", name)
