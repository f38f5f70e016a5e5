"""The boot-and-ping check, run from the Ansible side exactly as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def check(request):
    inventory = request.config.getoption("ansible_inventory")
    proc = subprocess.run(
        [str(BIN / "aptstack"), "verify", "-i", inventory, "--json"],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"aptstack verify printed no result (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.returncode, result


def test_check_passes(check):
    status, result = check
    assert status == 0, json.dumps(result.get("failures"), indent=2)
    assert result["result"] == "passed"


def test_a_server_ran_on_every_compute_host(check, host):
    _status, result = check
    compute_hosts = host.ansible.get_variables()["groups"]["compute"]
    servers = result["servers"]
    assert sorted(s["inventory_host"] for s in servers) == sorted(compute_hosts)
    assert all(s["target_host"] == s["inventory_host"] for s in servers)
    assert all(s["pings"]["fixed"]["host"] == s["inventory_host"] for s in servers)


def test_fixed_and_floating_addresses_answered(check):
    _status, result = check
    assert result["servers"]
    for server in result["servers"]:
        assert server["pings"]["fixed"]["answered"] is True, server["failures"]
        assert server["pings"]["floating"]["answered"] is True, server["failures"]


def test_guests_got_their_address_and_metadata(check):
    _status, result = check
    for server in result["servers"]:
        assert server["guest"]["dhcp_address"].split("/")[0] == server["fixed_ip"]
        assert server["guest"]["metadata_uuid"] == server["id"]


def test_nothing_left_behind(check):
    _status, result = check
    assert result["cleanup"]["deleted"] > 0
    assert not result["cleanup"]["left"]


def test_rpc_round_trip_to_nova_conductor_was_measured(check):
    # A measurement, not a pass/fail figure: the controller's oslo.messaging reached nova-conductor's
    # ping endpoint (which the nova_controller role turns on) and timed every call.
    _status, result = check
    rpc = result["rpc"]
    assert rpc["error"] is None, rpc["error"]
    assert rpc["calls"] == len(rpc["round_trips_ms"]) == 5
    assert 0 < rpc["median_ms"] < 30000
    assert rpc["oslo_messaging"]
