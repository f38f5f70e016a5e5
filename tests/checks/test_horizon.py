"""Horizon on a real aio lab (make horizon-check; not part of make test): `aptstack up --with horizon`
deploys the dashboard and passes verify with the browser check (headless Chromium on this machine logs
in, finds the check's server on the instances page and saves a screenshot beside the report), a second
deploy changes nothing, and the check fails when the browser cannot log in (a wrong password).

HORIZON_LAB names the lab (made afresh, removed afterwards); HORIZON_SUBNET and HORIZON_TUNNEL_SUBNET
choose its networks."""

import os
import re
from pathlib import Path

import pytest

from aptstack.runner import recap_changed

from .conftest import RELEASE, aptstack, inventory, lab_networks

LAB = os.environ.get("HORIZON_LAB", "hzn")
NETWORKS = lab_networks("HORIZON")


@pytest.fixture(scope="module")
def horizon_up():
    aptstack("lab", "down", "--name", LAB)
    try:
        yield aptstack("up", "--name", LAB, "--release", RELEASE, *NETWORKS, "--with", "horizon").stdout
    finally:
        aptstack("lab", "down", "--name", LAB)


def test_up_with_horizon_passes_the_browser_check(horizon_up):
    listed = r"horizon: +instances page lists aptstack-verify-server-\S+, login [\d.]+s, page [\d.]+s, total [\d.]+s"
    assert re.search(listed, horizon_up)
    screenshot = Path(re.search(r"screenshot: (\S+\.png)", horizon_up)[1])
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "result:     OK" in horizon_up


def test_a_second_deploy_changes_nothing(horizon_up):
    output = aptstack("deploy", "-i", inventory(LAB), "--with", "horizon").stdout
    changed = recap_changed(output)
    assert changed and set(changed.values()) == {0}, output.split("PLAY RECAP", 1)[1]


def test_the_check_fails_when_the_browser_cannot_log_in(horizon_up):
    broken = aptstack("verify", "-i", inventory(LAB), "-e", "verify_horizon_password=not-the-password", check=False)
    assert broken.returncode != 0
    assert "Horizon check" in broken.stdout and "login as admin failed" in broken.stdout
