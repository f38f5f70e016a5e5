"""The restart_stale module, run as Ansible runs it, with a fake systemctl on PATH."""

import json
import os
import subprocess
import sys
import time

import pytest

from .source_files import ROOT

MODULE = ROOT / "plugins" / "modules" / "restart_stale.py"

# Units became active STARTED_AGO seconds ago (STATE_<unit> overrides "active", FILE_<unit> the unit
# file state "enabled", LOAD_<unit> "loaded"); one block per unit, as systemctl show prints them.
# Every other verb is logged as "verb unit".
FAKE_SYSTEMCTL = f"""#!{sys.executable}
import os, sys, time
def env(prefix, unit, default):
    return os.environ.get(prefix + unit.replace("-", "_").replace(".", "_"), default)
if sys.argv[1] == "show":
    ago = float(os.environ["STARTED_AGO"])
    units = sys.argv[sys.argv.index("--") + 1:]
    blocks = []
    for unit in units:
        state = env("STATE_", unit, "active")
        since = "%d" % ((time.monotonic() - ago) * 1e6) if state == "active" else "0"
        blocks.append("LoadState=%s\\nActiveState=%s\\nUnitFileState=%s\\nActiveEnterTimestampMonotonic=%s"
                      % (env("LOAD_", unit, "loaded"), state, env("FILE_", unit, "enabled"), since))
    print("\\n\\n".join(blocks))
else:
    with open(os.environ["SYSTEMCTL_LOG"], "a") as log:
        log.write(sys.argv[1] + " " + sys.argv[2] + "\\n")
    sys.exit(int(os.environ.get("SYSTEMCTL_RC", "0")))
"""


@pytest.fixture
def run(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    systemctl = bindir / "systemctl"
    systemctl.write_text(FAKE_SYSTEMCTL)
    systemctl.chmod(0o755)
    calls_log = tmp_path / "calls"

    def _run(started_ago, check_mode=False, extra_env=None, all_calls=False, **args):
        calls_log.unlink(missing_ok=True)
        argfile = tmp_path / "args.json"
        module_args = dict(args, _ansible_check_mode=check_mode)
        argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        env = dict(
            os.environ,
            PATH=f"{bindir}:{os.environ.get('PATH', '')}",
            STARTED_AGO=str(started_ago),
            SYSTEMCTL_LOG=str(calls_log),
            **(extra_env or {}),
        )
        proc = subprocess.run(
            [sys.executable, str(MODULE), str(argfile)], capture_output=True, text=True, env=env, timeout=60
        )
        calls = calls_log.read_text().splitlines() if calls_log.exists() else []
        # The units restarted, as the tests below mostly ask; every call with all_calls=True.
        if all_calls:
            return json.loads(proc.stdout), calls
        return json.loads(proc.stdout), [call.split()[1] for call in calls if call.startswith("restart ")]

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
    result, _ = run(30, units=["svc-a"], paths=[str(conf)], extra_env={"SYSTEMCTL_RC": "1"})
    assert result["failed"] is True
    assert "restart svc-a" in result["msg"] and str(conf) in result["msg"]


def test_started_and_enabled_run_the_units_in_one_call(run, conf):
    os.utime(conf, (time.time() - 60, time.time() - 60))
    result, calls = run(
        30,
        all_calls=True,
        units=["svc-a", "svc-b", "svc-c"],
        paths=[str(conf)],
        started=True,
        enabled=True,
        extra_env={"STATE_svc_b": "inactive", "FILE_svc_b": "disabled", "STATE_svc_c": "failed"},
    )
    assert calls == ["start svc-b", "enable svc-b", "start svc-c"]
    assert result["changed"] is True
    assert result["started"] == ["svc-b", "svc-c"] and result["enabled"] == ["svc-b"] and result["restarted"] == []


def test_running_enabled_current_units_change_nothing(run):
    result, calls = run(
        30,
        all_calls=True,
        units=["svc-a", "svc-b.socket"],
        started=True,
        enabled=True,
        extra_env={"STATE_svc_b_socket": "activating", "FILE_svc_b_socket": "static"},
    )
    assert calls == [] and result["changed"] is False


def test_a_stale_unit_is_restarted_not_started_again(run, conf):
    result, calls = run(30, all_calls=True, units=["svc-a"], paths=[str(conf)], started=True, enabled=True)
    assert calls == ["restart svc-a"]
    assert result["started"] == [] and [item["unit"] for item in result["restarted"]] == ["svc-a"]


def test_check_mode_reports_starts_and_enables_without_them(run):
    result, calls = run(
        30,
        check_mode=True,
        all_calls=True,
        units=["svc-a"],
        started=True,
        enabled=True,
        extra_env={"STATE_svc_a": "inactive", "FILE_svc_a": "disabled"},
    )
    assert calls == [] and result["changed"] is True
    assert result["started"] == ["svc-a"] and result["enabled"] == ["svc-a"]


@pytest.mark.parametrize(
    ("env", "message"),
    [({"LOAD_svc_a": "not-found"}, "unit svc-a does not exist"), ({"FILE_svc_a": "masked"}, "unit svc-a is masked")],
)
def test_a_missing_or_masked_unit_fails_when_it_should_run(run, env, message):
    result, calls = run(30, all_calls=True, units=["svc-a"], started=True, enabled=True, extra_env=env)
    assert result["failed"] is True and message in result["msg"]
    assert calls == []


def test_a_missing_unit_is_skipped_by_the_restart_check_alone(run, conf):
    result, calls = run(
        30,
        all_calls=True,
        units=["svc-a"],
        paths=[str(conf)],
        extra_env={"LOAD_svc_a": "not-found", "STATE_svc_a": "inactive"},
    )
    assert calls == [] and result["changed"] is False
