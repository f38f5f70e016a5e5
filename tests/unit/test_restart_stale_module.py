"""The restart_stale module, run as Ansible runs it, with a fake systemctl on PATH."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "plugins" / "modules" / "restart_stale.py"

# Units became active STARTED_AGO seconds ago (STATE_<unit> overrides "active"); restarts are logged.
FAKE_SYSTEMCTL = f"""#!{sys.executable}
import os, sys, time
if sys.argv[1] == "show":
    unit = sys.argv[-1]
    ago = float(os.environ["STARTED_AGO"])
    print("ActiveState=" + os.environ.get("STATE_" + unit.replace("-", "_"), "active"))
    print("ActiveEnterTimestampMonotonic=%d" % ((time.monotonic() - ago) * 1e6))
elif sys.argv[1] == "restart":
    with open(os.environ["RESTART_LOG"], "a") as log:
        log.write(sys.argv[2] + "\\n")
    sys.exit(int(os.environ.get("RESTART_RC", "0")))
"""


@pytest.fixture
def run(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    systemctl = bindir / "systemctl"
    systemctl.write_text(FAKE_SYSTEMCTL)
    systemctl.chmod(0o755)
    restart_log = tmp_path / "restarts"

    def _run(started_ago, check_mode=False, extra_env=None, **args):
        restart_log.unlink(missing_ok=True)
        argfile = tmp_path / "args.json"
        module_args = dict(args, _ansible_check_mode=check_mode)
        argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        env = dict(
            os.environ,
            PATH=f"{bindir}:{os.environ.get('PATH', '')}",
            STARTED_AGO=str(started_ago),
            RESTART_LOG=str(restart_log),
            **(extra_env or {}),
        )
        proc = subprocess.run(
            [sys.executable, str(MODULE), str(argfile)], capture_output=True, text=True, env=env, timeout=60
        )
        restarted = restart_log.read_text().split() if restart_log.exists() else []
        return json.loads(proc.stdout), restarted

    return _run


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "svc.conf"
    path.write_text("[DEFAULT]\n")
    return path


def test_a_unit_started_after_its_files_changed_is_left_alone(run, conf):
    os.utime(conf, (time.time() - 60, time.time() - 60))
    result, restarted = run(30, units=["svc-a"], paths=[str(conf)])
    assert result["changed"] is False
    assert result["restarted"] == []
    assert restarted == []


def test_a_unit_older_than_its_config_is_restarted(run, conf):
    result, restarted = run(30, units=["svc-a", "svc-b"], paths=[str(conf), "/nonexistent/*.conf"])
    assert result["changed"] is True
    assert restarted == ["svc-a", "svc-b"]
    assert result["restarted"][0]["newer"] == str(conf)
    assert 25 < result["restarted"][0]["seconds_newer"] < 35


def test_sub_second_order_counts(run, conf):
    # Written half a second before the unit became active: not stale.
    os.utime(conf, (time.time() - 1.5, time.time() - 1.5))
    result, restarted = run(1.0, units=["svc-a"], paths=[str(conf)])
    assert restarted == [] and result["changed"] is False


def test_inactive_units_are_not_started_here(run, conf):
    result, restarted = run(30, units=["svc-a", "svc-b"], paths=[str(conf)], extra_env={"STATE_svc_b": "inactive"})
    assert restarted == ["svc-a"]
    assert [item["unit"] for item in result["restarted"]] == ["svc-a"]


def test_check_mode_reports_without_restarting(run, conf):
    result, restarted = run(30, check_mode=True, units=["svc-a"], paths=[str(conf)])
    assert result["changed"] is True
    assert restarted == []


def test_wildcards_pick_the_newest_file(run, tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    old, new = sites / "a.conf", sites / "b.conf"
    old.write_text("old")
    new.write_text("new")
    os.utime(old, (time.time() - 600, time.time() - 600))
    result, _ = run(30, units=["svc-a"], paths=[f"{sites}/*.conf"])
    assert result["restarted"][0]["newer"] == str(new)


def test_a_failed_restart_fails_with_the_unit_named(run, conf):
    result, _ = run(30, units=["svc-a"], paths=[str(conf)], extra_env={"RESTART_RC": "1"})
    assert result["failed"] is True
    assert "svc-a" in result["msg"] and str(conf) in result["msg"]
