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


def test_server_ran_on_a_compute_host(check, host):
    _status, result = check
    compute_hosts = host.ansible.get_variables()["groups"]["compute"]
    assert result["pings"]["fixed"]["host"] in compute_hosts


def test_fixed_and_floating_addresses_answered(check):
    _status, result = check
    assert result["pings"]["fixed"]["answered"] in (True, "True")
    assert result["pings"]["floating"]["answered"] in (True, "True")


def test_guest_got_its_address_and_metadata(check):
    _status, result = check
    assert result["guest"]["dhcp_address"]
    assert result["guest"]["metadata_uuid"] == result["server"]["id"]


def test_nothing_left_behind(check):
    _status, result = check
    assert not result["cleanup"]["left"]
