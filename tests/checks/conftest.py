"""Long real checks on lab hosts (make overlay-check, upgrade-check, interrupt-check): not in make test."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aptstack.runner import recap_changed

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RELEASE = os.environ.get("RELEASE", "resolute")
POOL = Path(os.environ.get("APTSTACK_CACHE_DIR", "/var/cache/aptstack")) / "apt" / RELEASE


def aptstack(*args, check=True, timeout=3600):
    """Run the aptstack command; its output goes to the log as it runs, the result is returned."""
    print(f"\n$ aptstack {' '.join(args)}", flush=True)
    proc = subprocess.run([str(BIN / "aptstack"), *args], stdout=subprocess.PIPE, text=True, timeout=timeout)
    print(proc.stdout[-4000:], flush=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"aptstack {' '.join(args)} failed ({proc.returncode})")
    return proc


def run_on(name: str, command: str) -> str:
    """Run a command on every host of a lab (ansible ad hoc) and return its output."""
    proc = subprocess.run(
        [str(BIN / "ansible"), "-i", inventory(name), "all", "-o", "-m", "ansible.builtin.command", "-a", command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.stdout


def assert_redeploy_unchanged(name: str, *deploy_args: str) -> None:
    """A second deploy of the lab reports changed=0 on every host."""
    output = aptstack("deploy", "-i", inventory(name), *deploy_args).stdout
    changed = recap_changed(output)
    assert changed and set(changed.values()) == {0}, output.split("PLAY RECAP", 1)[-1]


def assert_verify_fails_while_stopped(name: str, unit: str, failure: str) -> None:
    """Verify fails, naming `failure`, while `unit` is stopped, and passes again once it runs."""
    run_on(name, f"systemctl stop {unit}")
    try:
        broken = aptstack("verify", "-i", inventory(name), check=False)
        assert broken.returncode != 0
        assert failure in broken.stdout and "FAILED" in broken.stdout
    finally:
        run_on(name, f"systemctl start {unit}")
    assert aptstack("verify", "-i", inventory(name), check=False).returncode == 0


def lab_networks(prefix: str) -> list[str]:
    """`lab up`'s network options from PREFIX_SUBNET and PREFIX_TUNNEL_SUBNET, those that are set."""
    options = (("--subnet", f"{prefix}_SUBNET"), ("--tunnel-subnet", f"{prefix}_TUNNEL_SUBNET"))
    return [item for option, variable in options if os.environ.get(variable) for item in (option, os.environ[variable])]


def inventory(name: str) -> str:
    return f"/var/lib/aptstack/labs/{name}/inventory.yml"


def versions(name: str) -> dict:
    return json.loads(aptstack("versions", "-i", inventory(name), "--json").stdout)


def installed(report: dict, package: str) -> dict:
    return next(item for item in report["packages"] if item["package"] == package)


@contextlib.contextmanager
def release_lab(name: str):
    """An aio lab deployed from the release (made afresh, removed afterwards); yields its versions
    reports by host."""
    aptstack("lab", "down", "--name", name)
    aptstack("up", "--name", name, "--release", RELEASE)
    try:
        yield versions(name)
    finally:
        aptstack("lab", "down", "--name", name)


def archive_debs(source_report: dict, source: str) -> list[Path]:
    """The archive's .debs of every installed binary of `source`, from the shared archive pool."""
    debs = []
    for item in source_report["packages"]:
        if item["source"] != source:
            continue
        name = f"{item['package']}_{item['version'].replace(':', '%3a')}_{item['architecture']}.deb"
        path = POOL / name
        assert path.is_file(), f"{path} is not in the archive pool"
        debs.append(path)
    return debs


def repack(out: Path, debs: list[Path], *options: str) -> Path:
    subprocess.run(
        [sys.executable, str(ROOT / "tests" / "tools" / "repack_debs.py"), str(out), *map(str, debs), *options],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session", autouse=True)
def _root():
    assert os.geteuid() == 0, "these checks build real lab hosts and must run as root"
