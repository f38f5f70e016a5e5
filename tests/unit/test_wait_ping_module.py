"""The wait_ping module, run as Ansible runs it, with a fake ping on PATH."""

import json
import os
import socket
import subprocess
import sys

import pytest

from .source_files import ROOT

MODULE = ROOT / "plugins" / "modules" / "wait_ping.py"

FAKE_PING = """#!/bin/sh
# Answers once the counter file reaches $PING_OK_AFTER attempts.
count=$(cat "$PING_COUNTER" 2>/dev/null || echo 0)
count=$((count + 1))
echo "$count" > "$PING_COUNTER"
echo "$@" >> "$PING_ARGS"
if [ "$count" -ge "$PING_OK_AFTER" ]; then
    echo "1 packets transmitted, 1 received, 0% packet loss, time 0ms"
    echo "rtt min/avg/max/mdev = 0.051/0.051/0.051/0.000 ms"
    exit 0
fi
echo "1 packets transmitted, 0 received, 100% packet loss, time 0ms"
exit 1
"""


@pytest.fixture
def run(tmp_path):
    # The module imports its module_utils through the collection's name.
    collection = tmp_path / "collections" / "ansible_collections" / "aptstack"
    collection.mkdir(parents=True)
    (collection / "openstack").symlink_to(ROOT)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    ping = bindir / "ping"
    ping.write_text(FAKE_PING)
    ping.chmod(0o755)

    def _run(ok_after=1, **args):
        counter = tmp_path / "count"
        counter.unlink(missing_ok=True)
        argfile = tmp_path / "args.json"
        argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(
            os.environ,
            PATH=f"{bindir}:{os.environ.get('PATH', '')}",
            PYTHONPATH=str(tmp_path / "collections"),
            PING_OK_AFTER=str(ok_after),
            PING_COUNTER=str(counter),
            PING_ARGS=str(tmp_path / "ping-args"),
        )
        proc = subprocess.run(
            [sys.executable, str(MODULE), str(argfile)], capture_output=True, text=True, env=env, timeout=60
        )
        return json.loads(proc.stdout), (tmp_path / "ping-args")

    return _run


def test_answer_on_first_attempt(run):
    result, args_file = run(address="192.0.2.10", timeout=5)
    assert not result.get("failed")
    assert result["changed"] is False
    assert result["attempts"] == 1
    assert result["rtt_ms"] == 0.051
    assert result["address"] == "192.0.2.10"
    assert result["host"] == socket.gethostname()
    assert args_file.read_text().split() == ["-c", "1", "-W", "1", "-q", "192.0.2.10"]


def test_waits_until_an_answer(run):
    result, _ = run(ok_after=3, address="192.0.2.10", timeout=20, interval=0.1)
    assert not result.get("failed")
    assert result["attempts"] == 3
    assert result["elapsed"] < 10
    assert result["answered_at"] > 0


def test_timeout_names_address_and_host(run):
    result, _ = run(ok_after=1000, address="192.0.2.10", timeout=1, interval=0.2)
    assert result["failed"] is True
    assert result["msg"].startswith(f"No answer from 192.0.2.10 on host {socket.gethostname()} within 1 s")
    assert "100% packet loss" in result["msg"]
    assert result["attempts"] >= 2


def test_missing_namespace_is_named(run):
    result, args_file = run(address="192.0.2.10", namespace="ovnmeta-no-such-net", timeout=1)
    assert result["failed"] is True
    assert result["attempts"] == 0
    assert "in namespace ovnmeta-no-such-net" in result["msg"]
    assert "never appeared" in result["msg"]
    assert not args_file.exists()


def test_check_mode_still_pings(run):
    result, _ = run(address="192.0.2.10", timeout=5, _ansible_check_mode=True)
    assert not result.get("failed")
    assert result["changed"] is False
