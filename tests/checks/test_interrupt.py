"""Interrupted first deploys converge (make interrupt-check; one aio lab, three rounds).

Each round starts from a fresh lab host, starts `aptstack deploy`, and stops it when a given
point of the run shows in its output: Ctrl-C (SIGINT to the whole process group, as a terminal
sends it) while apt installs the packages, and SIGKILL of ansible-playbook alone while keystone
is set up and while the compute host is. The stopped deploy must fail; a second deploy must then
succeed and verify must pass on the same host.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import BIN, aptstack, inventory

LAB = "intr"

ROUNDS = [
    # (signal, whom, a line of the deploy's output, seconds after it). The first service_common
    # install of a fresh host is common's one transaction of every package the host needs.
    pytest.param(signal.SIGINT, "group", "service_common : Install ", 20, id="sigint-packages"),
    pytest.param(signal.SIGKILL, "ansible-playbook", "TASK [aptstack.openstack.keystone", 4, id="sigkill-keystone"),
    # 5 s into the compute play, inside nova_compute: nova_compute and ovn_metadata_agent take
    # about 15 s on a warm aio (session 15), so 25 s found the deploy already done.
    pytest.param(signal.SIGKILL, "ansible-playbook", "PLAY [Compute hosts]", 5, id="sigkill-compute"),
]


def processes_in_group(pgid: int) -> dict[int, tuple[int, str]]:
    """The processes of a process group: pid -> (parent pid, command line)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(stat.parent.name)] = (int(fields[1]), command)
        except (OSError, ValueError, IndexError):
            continue
    return found


def ansible_playbook_pid(pgid: int) -> int:
    """The ansible-playbook the driver started: its forks and mitogen's multiplexer carry the same
    command line, but their parent is an ansible-playbook too."""
    group = processes_in_group(pgid)
    playbooks = {pid for pid, (_parent, command) in group.items() if "bin/ansible-playbook " in command}
    started = [pid for pid in playbooks if group[pid][0] not in playbooks]
    assert len(started) == 1, (
        f"{len(started)} ansible-playbook processes started by the driver in its process group, not 1: "
        "did the deploy end before the signal was due?"
    )
    return started[0]


def interrupted_deploy(sig: int, whom: str, marker: str, delay: int) -> tuple[int, float]:
    """Start a deploy, send the signal `delay` seconds after `marker` shows, and return its exit
    status and when the signal went (seconds after the start)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "aptstack"), "deploy", "-i", inventory(LAB)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    sent = None
    for line in proc.stdout:
        if sent is None and marker in line:
            time.sleep(delay)
            assert proc.poll() is None, f"the deploy ended ({proc.returncode}) before the signal was due"
            if whom == "group":
                os.killpg(proc.pid, sig)
            else:
                os.kill(ansible_playbook_pid(proc.pid), sig)
            sent = time.monotonic() - started
            print(f"sent {signal.Signals(sig).name} to {whom} {sent:.0f} s after the start: {line.strip()}", flush=True)
    status = proc.wait(timeout=900)
    assert sent is not None, f"the deploy ended ({status}) before it showed {marker!r}"
    return status, sent


@pytest.mark.parametrize(("sig", "whom", "marker", "delay"), ROUNDS)
def test_a_deploy_interrupted_then_run_again_converges(sig, whom, marker, delay):
    aptstack("lab", "down", "--name", LAB)
    aptstack("lab", "up", "--name", LAB, "--json")
    try:
        status, sent = interrupted_deploy(sig, whom, marker, delay)
        assert status != 0, "the interrupted deploy reported success"
        started = time.monotonic()
        aptstack("deploy", "-i", inventory(LAB))
        result = json.loads(aptstack("verify", "-i", inventory(LAB), "--json").stdout)
        assert result["result"] == "passed", result
        again = time.monotonic() - started
        print(f"interrupted at {sent:.0f} s (exit {status}); deployed again and verified in {again:.0f} s")
    finally:
        aptstack("lab", "down", "--name", LAB)
