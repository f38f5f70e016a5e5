"""Optional services on a real aio lab (make services-check; not part of make test): `aptstack up
--with heat` deploys heat and passes verify with the Heat ping check, a second deploy changes
nothing, and the check fails while heat-engine is stopped (and passes again once it runs).

SERVICES_LAB names the lab (made afresh, removed afterwards); SERVICES_SUBNET and
SERVICES_TUNNEL_SUBNET choose its networks."""

import os
import re

import pytest

from aptstack.runner import recap_changed

from .conftest import RELEASE, aptstack, inventory, lab_networks, run_on

LAB = os.environ.get("SERVICES_LAB", "svc")
NETWORKS = lab_networks("SERVICES")


@pytest.fixture(scope="module")
def heat_up():
    aptstack("lab", "down", "--name", LAB)
    try:
        yield aptstack("up", "--name", LAB, "--release", RELEASE, *NETWORKS, "--with", "heat").stdout
    finally:
        aptstack("lab", "down", "--name", LAB)


def test_up_with_heat_passes_the_heat_check(heat_up):
    assert re.search(r"heat: +stack CREATE_COMPLETE, create [\d.]+s, floating ping [\d.]+s, delete [\d.]+s", heat_up)
    assert "result:     OK" in heat_up


def test_a_second_deploy_changes_nothing(heat_up):
    output = aptstack("deploy", "-i", inventory(LAB), "--with", "heat").stdout
    changed = recap_changed(output)
    assert changed and set(changed.values()) == {0}, output.split("PLAY RECAP", 1)[1]


def test_the_heat_check_fails_while_heat_engine_is_stopped(heat_up):
    run_on(LAB, "systemctl stop heat-engine")
    try:
        broken = aptstack("verify", "-i", inventory(LAB), check=False)
        assert broken.returncode != 0
        assert "stack" in broken.stdout and "FAILED" in broken.stdout
    finally:
        run_on(LAB, "systemctl start heat-engine")
    assert aptstack("verify", "-i", inventory(LAB), check=False).returncode == 0
