"""A deployed aio kept as a snapshot, the halted lab started again and a lab restored from the
snapshot, each passing verify, and nothing left (make snapshot-check, part of make test: about
7 min with its own deploy).

The lab to snapshot is deployed here (`aptstack up`, 6-15 min), unless APTSTACK_SNAPSHOT_SOURCE
names a deployed lab to use instead: that lab is consumed (halted, snapshotted, taken down).
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from aptstack import host
from aptstack.runner import recap_changed

from ..system.conftest import aptstack

SOURCE = os.environ.get("APTSTACK_SNAPSHOT_SOURCE", "st-snap")
SNAPSHOT = f"{SOURCE}-s"
RESTORED = f"{SOURCE}-r"


def lab_state(name: str) -> dict:
    return json.loads((host.state_dir() / "labs" / name / "lab.json").read_text())


@pytest.fixture(scope="module")
def snapshot():
    if "APTSTACK_SNAPSHOT_SOURCE" not in os.environ:
        aptstack("lab", "down", "--name", SOURCE)
        aptstack("up", "--name", SOURCE)
    aptstack("lab", "snapshot-remove", "--name", SNAPSHOT, check=False)
    meta = json.loads(aptstack("lab", "snapshot", "--name", SOURCE, "--as", SNAPSHOT, "--json").stdout)
    try:
        yield meta
    finally:
        aptstack("lab", "down", "--name", SOURCE)
        aptstack("lab", "down", "--name", RESTORED)
        aptstack("lab", "snapshot-remove", "--name", SNAPSHOT, check=False)


def test_snapshot_records_where_it_starts_from(snapshot):
    assert snapshot["topology"] == "aio"
    assert snapshot["release"]
    assert snapshot["disk_bytes"] > 2**28
    listed = json.loads(aptstack("lab", "snapshots", "--json").stdout)
    assert SNAPSHOT in [item["name"] for item in listed]


def test_the_halted_lab_started_again_returns_once_its_cloud_answers(snapshot):
    halted = lab_state(SOURCE)
    assert halted["nodes"], "the snapshot's lab is kept, halted"
    restarted = json.loads(aptstack("lab", "up", "--name", SOURCE, "--json").stdout)
    # Waited for nova-compute's first heartbeat after the boot: the database's last one, from
    # before the halt, reads as up, and a verify started then found the hypervisor down.
    print(f"start: {restarted['start_s']}")
    assert restarted["start_s"]["compute_s"] > restarted["start_s"]["hosts_s"]
    assert halted["nodes"][0]["pid"] != lab_state(SOURCE)["nodes"][0]["pid"]
    aptstack("verify", "-i", restarted["inventory"])
    # The restore needs the snapshot's addresses.
    aptstack("lab", "down", "--name", SOURCE)


def test_restore_answers_verify_then_goes_without_a_trace(snapshot):
    aptstack("lab", "down", "--name", SOURCE)
    started = time.monotonic()
    restored = json.loads(aptstack("lab", "up", "--name", RESTORED, "--from", SNAPSHOT, "--json").stdout)
    print(f"restore: {time.monotonic() - started:.1f}s {restored['restore_s']}")
    inventory = restored["inventory"]
    state = lab_state(RESTORED)
    lab_id, pids = state["lab_id"], [n["pid"] for n in state["nodes"]]
    assert state["snapshot"] == SNAPSHOT

    # A second lab from the same snapshot would need the same addresses.
    second = aptstack("lab", "up", "--name", f"{SOURCE}-2", "--from", SNAPSHOT, check=False)
    assert second.returncode == 2
    assert f"which lab {RESTORED} uses" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    # A snapshot in use stays.
    assert aptstack("lab", "snapshot-remove", "--name", SNAPSHOT, check=False).returncode == 2

    aptstack("verify", "-i", inventory)
    deploy = aptstack("deploy", "-i", inventory)
    counts = recap_changed(deploy.stdout)
    assert counts and set(counts.values()) == {0}, counts

    aptstack("lab", "down", "--name", RESTORED)
    aptstack("lab", "snapshot-remove", "--name", SNAPSHOT)
    mounts = Path("/proc/self/mountinfo").read_text()
    assert RESTORED not in mounts and SNAPSHOT not in mounts
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"asl{lab_id}-" not in links
    for table in ("nat", "filter"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
        assert f"aptstack:{RESTORED}" not in rules
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "State:\tZ" in status.read_text(), f"nspawn {pid} still runs"
    for root in host.cgroup_hierarchies():
        assert not (root / "aptstack" / RESTORED).exists()
    assert not (host.state_dir() / "labs" / RESTORED).exists()
    assert not (host.state_dir() / "snapshots" / SNAPSHOT).exists()
    assert not (host.state_dir() / "labs" / SOURCE).exists()
