"""Optional services on a real aio lab (make services-check; not part of make test): `aptstack up
--with heat` deploys heat and passes verify with the Heat ping check, a second deploy changes
nothing, and the check fails while heat-engine is stopped (and passes again once it runs).

SERVICES_LAB names the lab (made afresh, removed afterwards); SERVICES_SUBNET and
SERVICES_TUNNEL_SUBNET choose its networks."""

import os
import re

import pytest

from .conftest import RELEASE, aptstack, assert_redeploy_unchanged, assert_verify_fails_while_stopped, lab_networks

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
    assert_redeploy_unchanged(LAB, "--with", "heat")


def test_the_heat_check_fails_while_heat_engine_is_stopped(heat_up):
    assert_verify_fails_while_stopped(LAB, "heat-engine", "stack")
