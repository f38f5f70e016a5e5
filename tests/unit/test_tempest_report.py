"""Tempest's verdict (plugins/filter/tempest_report.py) and the `aptstack tempest` driver's part."""

import json

import pytest

from aptstack import cli, tempest

from .source_files import load_source

tr = load_source("plugins/filter/tempest_report.py")

OK = "tempest.api.compute.servers.test_create_server.ServersTestJSON.test_list_servers[id-9a438d88,smoke]"
SKIP = "tempest.api.volume.test_volumes_get.VolumesGetTest.test_volume_create_get_delete[id-27fb0e9f,smoke]"
BAD = "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_register_upload_get_image[id-139b765e,smoke]"
KNOWN = "tempest.api.network.test_ports.PortsTestJSON.test_create_port_in_allowed_allocation_pools[id-0435f278,smoke]"


def run_of(**status):
    ids = {"ok": OK, "skip": SKIP, "bad": BAD, "known": KNOWN}
    reasons = {"skip": "Cinder is not available", "fail": "Traceback\n  ...\nAssertionError: 404 != 201"}
    return [
        {"id": ids[key], "status": value, "reason": reasons.get(value, ""), "duration_s": 2.5}
        for key, value in status.items()
    ]


def test_every_count_and_each_skip_with_its_reason():
    report = tr.tempest_report(run_of(ok="success", skip="skip", bad="fail"))
    assert report["counts"] == {"passed": 1, "failed": 1, "skipped": 1, "known_failures": 0, "total": 3}
    assert report["skipped"] == [{"id": SKIP.split("[")[0], "reason": "Cinder is not available"}]
    assert report["failed"][0]["details"].endswith("AssertionError: 404 != 201")
    assert report["verdict"] == "failed"
    assert report["duration_s"] == 7.5


def test_a_known_failure_is_listed_with_its_reason_and_does_not_fail_the_run():
    known = [{"test": r"test_ports\.PortsTestJSON\.test_create_port_in_allowed", "reason": "upstream bug 1"}]
    report = tr.tempest_report(run_of(ok="success", known="fail"), known)
    assert report["verdict"] == "passed"
    assert report["counts"]["known_failures"] == 1 and report["counts"]["failed"] == 0
    assert report["known_failures"][0]["reason"] == "upstream bug 1"
    text = tr.tempest_report_text(report)
    assert any("known failure" in line and "upstream bug 1" in line for line in text)


def test_a_known_failure_that_passes_again_is_named():
    known = [{"test": "PortsTestJSON", "reason": "upstream bug 1"}]
    report = tr.tempest_report(run_of(known="success"), known)
    assert report["known_failures_passed"] == [{"id": KNOWN.split("[")[0], "reason": "upstream bug 1"}]


def test_a_run_without_tests_fails():
    report = tr.tempest_report([{"id": OK, "status": "exists"}])
    assert report["verdict"] == "failed"
    assert "no test ran" in " ".join(tr.tempest_report_text(report))


def test_baseline_names_what_newly_failed_and_newly_passed():
    before = tr.tempest_report(run_of(ok="success", bad="fail", skip="success"))
    after = tr.tempest_report(run_of(ok="fail", bad="success"), baseline=before)
    assert after["baseline"] == {
        "newly_failed": [OK.split("[")[0]],
        "newly_passed": [BAD.split("[")[0]],
        "missing": [SKIP.split("[")[0]],
    }


def parse(*argv):
    return cli.build_parser().parse_args(["tempest", "-i", "inv.yml", *argv])


def test_the_selection_becomes_one_json_extra_var(tmp_path):
    load_list = tmp_path / "ids.txt"
    load_list.write_text(OK + "\n")
    (smoke,) = tempest.extra_vars(parse(), tmp_path)
    assert json.loads(smoke)["tempest_smoke"] is True
    (regex,) = tempest.extra_vars(parse("--regex", "a b'c", "--exclude-regex", "x", "--concurrency", "2"), tmp_path)
    assert json.loads(regex) == {
        "tempest_results_dir": str(tmp_path),
        "tempest_concurrency": 2,
        "tempest_regex": "a b'c",
        "tempest_smoke": False,
        "tempest_exclude_regex": "x",
    }
    given, listed = tempest.extra_vars(parse("-e", "tempest_timeout=60", "--load-list", str(load_list)), tmp_path)
    assert given == "tempest_timeout=60"
    assert json.loads(listed)["tempest_load_list"] == str(load_list)


@pytest.mark.parametrize("argv", [["--smoke", "--regex", "x"], ["--regex", "x", "--load-list", "f"]])
def test_selections_exclude_each_other(argv, capsys):
    assert cli.main(["tempest", "-i", "inv.yml", *argv]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_exit_status_follows_the_verdict(tmp_path):
    assert tempest.verdict_status(0, {"verdict": "passed"}, tmp_path) == 0
    assert tempest.verdict_status(2, {"verdict": "failed"}, tmp_path) == 1
    assert tempest.verdict_status(0, {"verdict": "failed"}, tmp_path) == 1
    assert tempest.verdict_status(4, {}, tmp_path) == 4
    assert tempest.verdict_status(0, {}, tmp_path) == 1
