"""The upgrade check's results: per host (plugins/filter/upgrade_report.py) and the verdict (aptstack.upgrade)."""

import base64
import json

from aptstack import upgrade

from .source_files import load_source

ur = load_source("plugins/filter/upgrade_report.py")

BEFORE = {
    "versions": [
        {"package": "nova-common", "architecture": "all", "source": "nova", "version": "1", "origin": "updates"},
        {"package": "ovn-host", "architecture": "amd64", "source": "ovn", "version": "26.03", "origin": "release"},
    ],
    "state": {"time": 100.0, "units": {"nova-conductor.service": "a", "ovn-controller.service": "b"}},
}


def test_host_result_names_changed_packages_and_restarted_units():
    after_versions = [
        {
            "package": "nova-common",
            "architecture": "all",
            "source": "nova",
            "version": "1+local1",
            "origin": "local overlay",
        },
        {"package": "ovn-host", "architecture": "amd64", "source": "ovn", "version": "26.03", "origin": "release"},
    ]
    state = {
        "time": 200.0,
        "units": {"nova-conductor.service": "c", "ovn-controller.service": "b"},
        "failed": [],
        "leftovers": ["/etc/nova/api-paste.ini.dpkg-dist"],
        "errors": [],
        "error_count": 0,
    }
    result = ur.upgrade_host_result(BEFORE, after_versions, state)
    assert result["packages"] == [
        {"package": "nova-common", "source": "nova", "before": "1", "after": "1+local1", "origin": "local overlay"}
    ]
    assert result["restarted"] == ["nova-conductor.service"]
    assert result["stopped"] == []
    assert result["leftovers"] == ["/etc/nova/api-paste.ini.dpkg-dist"]


def test_a_unit_down_after_the_upgrade_is_stopped():
    state = {"time": 200.0, "units": {"ovn-controller.service": "b"}, "failed": ["nova-conductor.service"]}
    result = ur.upgrade_host_result(BEFORE, BEFORE["versions"], state)
    assert result["packages"] == []
    assert result["stopped"] == ["nova-conductor.service"]
    assert result["failed"] == ["nova-conductor.service"]


def log(text):
    return {"content": base64.b64encode(text.encode()).decode()}


def test_canaries_count_lost_pings_and_fail_when_one_is_gone():
    canaries = [
        {"id": "s1", "inventory_host": "c1", "floating_ip": "10.0.0.5"},
        {"id": "s2", "inventory_host": "c2", "floating_ip": "10.0.0.6"},
    ]
    logs = [
        log("64 bytes from 10.0.0.5\n--- stats ---\n600 packets transmitted, 597 received, 0.5% packet loss\n"),
        log("64 bytes from 10.0.0.6\n"),
    ]
    servers = [{"servers": [{"status": "ACTIVE"}]}, {"servers": [{"status": "SHUTOFF"}]}]
    pings = [{"answered_at": 1.0}, {"msg": "no answer"}]
    result = ur.upgrade_canary_result(canaries, logs, servers, pings, {"rc": 0, "stdout": "ok"}, {})
    assert result["canaries"][0]["pings_lost"] == 3
    assert result["canaries"][0]["answers_after"] is True
    assert result["failures"] == [
        "canary on c2: its ping log has no count (was the ping running?)",
        "canary on c2 is SHUTOFF after the upgrade",
        "canary on c2 (10.0.0.6) no longer answers ping",
    ]


def test_nova_status_failure_fails_the_canary_step():
    result = ur.upgrade_canary_result([], [], [], [], {"rc": 2, "stdout": "Check: Cells v2\nResult: Failure"}, {})
    assert result["failures"] == ["nova-status upgrade check failed (exit 2): Check: Cells v2 / Result: Failure"]


def test_verdict_passes_only_when_every_step_ran_and_nothing_failed(tmp_path):
    host = {"packages": [{"package": "nova-common", "before": "1", "after": "2", "origin": "local overlay"}]}
    (tmp_path / "host-h1.json").write_text(json.dumps({**host, "restarted": ["nova-conductor.service"]}))
    (tmp_path / "canaries.json").write_text(json.dumps({"canaries": [], "failures": [], "nova_status": {"rc": 0}}))
    steps = dict.fromkeys(upgrade.STEPS, 0)
    report = upgrade.build_report(tmp_path, steps, [{"debs": "/d"}])
    assert report["verdict"] == "passed"
    assert report["nothing_changed"] is False
    text = upgrade.format_report(report, tmp_path)
    assert "h1: nova-common 1 -> 2 (local overlay)" in text
    assert "h1: restarted nova-conductor.service" in text

    failed = upgrade.build_report(tmp_path, {**steps, "upgrade": 2, "verify": None}, [{"debs": "/d"}])
    assert failed["verdict"] == "failed"
    assert failed["failures"][:2] == ["step upgrade (site) failed (exit 2)", "step verify did not run"]


def test_nothing_to_upgrade_is_said_in_plain_words(tmp_path):
    (tmp_path / "host-h1.json").write_text(json.dumps({"packages": []}))
    report = upgrade.build_report(tmp_path, dict.fromkeys(upgrade.STEPS, 0), [{"pocket": "proposed"}])
    assert report["nothing_changed"] is True
    assert "nothing to upgrade" in upgrade.format_report(report, tmp_path)


def test_a_crash_looping_unit_fails_the_verdict_and_names_its_package(tmp_path):
    before = {"versions": [], "state": {"time": 1.0, "units": {}, "restarting": {"old.service": {"restarts": 2}}}}
    state = {
        "time": 2.0,
        "units": {},
        "restarting": {
            "nova-conductor.service": {"restarts": 80, "package": "nova-conductor"},
            "old.service": {"restarts": 2, "package": "old"},
        },
    }
    result = ur.upgrade_host_result(before, [], state)
    assert list(result["restarting"]) == ["nova-conductor.service"]
    result["packages"] = [{"package": "nova-conductor", "before": "1", "after": "1+local2", "origin": "local overlay"}]
    (tmp_path / "host-h1.json").write_text(json.dumps(result))
    report = upgrade.build_report(tmp_path, dict.fromkeys(upgrade.STEPS, 0), [])
    assert report["verdict"] == "failed"
    assert report["failures"] == [
        "h1: unit nova-conductor.service keeps restarting (80 automatic restarts; package nova-conductor 1 -> 1+local2)"
    ]
