"""Every optional service on one real aio lab (make full; not part of make test): `aptstack up
--with cinder,heat,horizon` deploys Ceph, cinder, heat and horizon and passes verify with the volume
check (a volume attached, written and read back by the guest, detached and deleted; a server booted
from a volume), the Heat ping check and the Horizon check; a second deploy changes nothing; the volume
check fails while cinder-volume is stopped (and passes again once it runs). The memory of each
service's programs (PSS) is printed.

FULL_LAB names the lab (made afresh, removed afterwards unless FULL_KEEP=1); FULL_SUBNET and
FULL_TUNNEL_SUBNET choose its networks."""

import os
import re

import pytest

from aptstack import lab

from .conftest import RELEASE, aptstack, assert_redeploy_unchanged, assert_verify_fails_while_stopped, lab_networks

LAB = os.environ.get("FULL_LAB", "full")
NETWORKS = lab_networks("FULL")
SERVICES = "cinder,heat,horizon"
# The programs of each service, as the lab's memory report names them (process_label: the program, or
# the name an Apache WSGI daemon gives itself, cut to the kernel's 15 characters), by prefix.
SERVICE_PROGRAMS = {
    "ceph": ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph-crash"),
    "cinder": ("cinder-scheduler", "cinder-volume", "(wsgi:cinder-api"),
    "heat": ("heat-engine", "(wsgi:heat-api"),
    "horizon": ("(wsgi:horizon",),
}


def memory_by_service(name: str) -> dict[str, dict[str, float]]:
    """MiB of PSS of each optional service's programs (and in all), summed over the lab's hosts."""
    the_lab = lab.load(name)
    totals: dict[str, int] = {}
    for node in the_lab.nodes:
        for program, size in (lab.node_memory_by_program(the_lab, node) or {}).items():
            totals[program] = totals.get(program, 0) + size
    report = {}
    for service, prefixes in SERVICE_PROGRAMS.items():
        mine = {program: size for program, size in totals.items() if program.startswith(prefixes)}
        report[service] = {program: round(size / 2**20, 1) for program, size in sorted(mine.items())}
        report[service]["all"] = round(sum(mine.values()) / 2**20, 1)
    report["host total"] = {"all": round(sum(totals.values()) / 2**20, 1)}
    return report


@pytest.fixture(scope="module")
def full_up():
    aptstack("lab", "down", "--name", LAB)
    try:
        yield aptstack("up", "--name", LAB, "--release", RELEASE, *NETWORKS, "--with", SERVICES).stdout
    finally:
        if os.environ.get("FULL_KEEP") != "1":
            aptstack("lab", "down", "--name", LAB)


def test_up_with_every_service_passes_every_check(full_up):
    assert re.search(r"cinder: +passed, volume as vd\w+, token read back True", full_up)
    assert re.search(r"heat: +stack CREATE_COMPLETE", full_up)
    assert re.search(r"horizon: +instances page lists \S", full_up)
    assert "result:     OK" in full_up
    print("\nmemory per service (PSS, MiB):", memory_by_service(LAB), flush=True)


def test_a_second_deploy_changes_nothing(full_up):
    assert_redeploy_unchanged(LAB, "--with", SERVICES)


def test_the_volume_check_fails_while_cinder_volume_is_stopped(full_up):
    assert_verify_fails_while_stopped(LAB, "cinder-volume", "Cinder check")
