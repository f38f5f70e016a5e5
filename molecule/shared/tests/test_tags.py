"""A deploy of one role or one phase (--tags), and a bad value that must fail before anything
changes, run on the converged cloud exactly as a user runs them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from aptstack.runner import recap_changed

BIN = Path(sys.executable).parent
# molecule runs with ANSIBLE_FORCE_COLOR, which the driver passes on to ansible-playbook.
COLOR = re.compile(r"\x1b\[[0-9;]*m")


def deploy(request, *args):
    """The driver's deploy, its output without colours."""
    inventory = request.config.getoption("ansible_inventory")
    proc = subprocess.run(
        [str(BIN / "aptstack"), "deploy", "-i", inventory, *args],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    stdout, stderr = COLOR.sub("", proc.stdout), COLOR.sub("", proc.stderr)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


# A role tag runs that role, and a phase tag that phase of every role, with what each needs
# (the preflights, the shared settings, the argument checks of every import, which run under
# every tag). On a converged cloud neither changes anything.
@pytest.mark.parametrize("tags", ["keystone", "service"])
def test_a_tagged_deploy_runs_and_changes_nothing(request, tags):
    proc = deploy(request, "--tags", tags)
    # Exit status 0: no host failed or was unreachable.
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    changed = recap_changed(proc.stdout)
    assert changed and set(changed.values()) == {0}, changed


# Within its type, so the input check on the Ansible side lets it through: neutron's preflight,
# run for every role before the host basics, stops the run on every host (a compute host runs no
# neutron) before any role changes anything.
def test_a_bad_value_fails_before_anything_changes(request):
    proc = deploy(request, "-e", "neutron_api_workers=0")
    assert proc.returncode == 2, proc.stdout[-4000:] + proc.stderr[-2000:]
    # The driver's one-line error names the role's check and its message, and no diagnostics are
    # collected: the cause is the value, not a host.
    assert any(
        line.startswith("aptstack: a setting was refused: ")
        and "neutron : aptstack.openstack.neutron : Check the settings: " in line
        and "the API workers at least 1" in line
        for line in proc.stderr.splitlines()
    ), proc.stderr[-3000:]
    assert "collecting diagnostics" not in proc.stderr, proc.stderr[-3000:]
    assert "TASK [aptstack.openstack.common : " not in proc.stdout
    changed = recap_changed(proc.stdout)
    assert changed and set(changed.values()) == {0}, changed
