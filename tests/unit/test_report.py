"""The diagnostics digest, the failed-task listing, and keeping reports past `lab down`."""

import io
import os

from aptstack import cli, lab, report

REPORT = """
===== host ctl at 2026-11-22T06:00:00Z =====
running
===== failed units =====
nova-conductor.service loaded failed failed
===== OpenStack units =====
nova-conductor.service failed failed
memcached.service active running
===== journal of keystone.service (inactive, 0 restarts, last 150 lines) =====
-- No entries --
===== journal of memcached.service (active, 0 restarts, last 20 lines) =====
2026-11-22 memcached started
===== journal of nova-conductor.service (failed, 3 restarts, last 150 lines) =====
line 1
line 2
line 3
line 4
line 5
line 6
line 7
line 8
line 9
line 10
===== errors in /var/log/nova/nova-conductor.log (last 40) =====
ERROR one
ERROR two
ERROR three
ERROR four

===== host cmp at 2026-11-22T06:00:00Z =====
running
===== failed units =====

===== journal of nova-compute.service (active, 0 restarts, last 20 lines) =====
fine
===== addresses =====
lo               UNKNOWN        127.0.0.1/8 ::1/128
mgmt0@if237      UP             10.213.0.11/24
br-int           DOWN
br-ex            DOWN           172.24.4.1/24
tapd53afe5d-1a   UNKNOWN        fe80::fc16:3eff:fed1:8fc6/64
ovs-netdev       DOWN           fe80::1/64
Cannot
"""


def test_digest_names_failed_units_with_their_journal_tail_and_log_errors():
    lines = report.digest(REPORT)
    assert lines[0] == "ctl:"
    assert "  failed unit: nova-conductor.service" in lines
    assert "  nova-conductor.service: failed, 3 restarts; last journal lines:" in lines
    assert "    line 10" in lines and "    line 3" in lines and "    line 2" not in lines
    assert "    ERROR four" in lines and "    ERROR one" not in lines
    assert not any("memcached" in line or "keystone" in line for line in lines)
    assert "  link" not in " ".join(lines[: lines.index("cmp:")])
    # A down link that holds an address (as the lab's br-ex did once after a boot) is named; a down
    # link without one (br-int) or with only a link-local address is not, nor a line that is no link's.
    assert lines[lines.index("cmp:") + 1 :] == ["  link br-ex is down but holds 172.24.4.1/24: nothing passes it"]


def test_digest_of_a_healthy_report_is_empty():
    assert report.digest("===== host a at x =====\n===== failed units =====\n\n") == []


UNDER_TEST_REPORT = """
===== host ctl at x =====
===== package versions (package, source, version, origin) =====
package       source  version             origin
nova-api      nova    3:33.0.0-1+local1   local overlay
keystone      keystone 2:28.0.0-1         release

===== packages under test =====
nova-api 3:33.0.0-1+local1 (local overlay)
nova-common 3:33.0.0-1+local1 (local overlay)

===== host cmp at x =====
===== package versions (package, source, version, origin) =====
not read: python3-apt is needed on the host
===== host other at x =====
===== packages under test =====

===== host many at x =====
===== packages under test =====
""" + "".join(f"p{i} {i} (proposed)\n" for i in range(14))


def test_packages_under_test_name_each_hosts_upload_and_leave_out_hosts_without_one():
    assert report.packages_under_test(UNDER_TEST_REPORT) == [
        "ctl: nova-api 3:33.0.0-1+local1 (local overlay), nova-common 3:33.0.0-1+local1 (local overlay)",
        "many: " + ", ".join(f"p{i} {i} (proposed)" for i in range(12)) + " and 2 more",
    ]


def test_summary_lists_the_packages_under_test_after_the_digest(tmp_path):
    (tmp_path / "report.txt").write_text(REPORT + UNDER_TEST_REPORT)
    cli.summarize_report(tmp_path, out=io.StringIO(), headline=["deploy FAILED"])
    summary = (tmp_path / cli.SUMMARY_FILE).read_text().splitlines()
    at = summary.index("  packages under test:")
    assert summary[at + 1].startswith("    ctl: nova-api 3:33.0.0-1+local1 (local overlay)")
    assert summary[at - 1] == "  link br-ex is down but holds 172.24.4.1/24: nothing passes it"
    assert summary[-1].startswith("  full report (secrets masked): ")


def test_summary_without_packages_under_test_has_no_such_heading(tmp_path):
    (tmp_path / "report.txt").write_text("===== host a at x =====\n===== packages under test =====\n\n")
    cli.summarize_report(tmp_path, out=io.StringIO())
    summary = (tmp_path / cli.SUMMARY_FILE).read_text()
    assert "packages under test" not in summary
    assert "no failed or restarted unit" in summary


def test_failed_tasks_list_host_role_task_and_message():
    lines = cli.failure_lines(
        {"failures": [{"host": "ctl", "role": "nova_controller", "task": "Wait", "message": "timed out\nhere"}]}
    )
    assert lines == ["FAILED ctl | nova_controller : Wait", "    timed out", "    here"]


def test_lab_reports_prints_the_summaries_written_since(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    kept = lab.reports_dir("mol") / "20261122-080000"
    fresh = tmp_path / "labs" / "mol" / "diagnostics" / "20261122-090000"
    for run_dir, text in ((kept, "old failure"), (fresh, "verify FAILED: no ping")):
        run_dir.mkdir(parents=True)
        (run_dir / "summary.txt").write_text(text + "\n")
    os.utime(kept / "summary.txt", (1000, 1000))
    assert cli.main(["lab", "reports", "--name", "mol", "--since", "2000"]) == 0
    out = capsys.readouterr().out
    assert "verify FAILED: no ping" in out and "old failure" not in out
    assert cli.main(["lab", "reports", "--name", "mol"]) == 0
    out = capsys.readouterr().out
    assert out.index("old failure") < out.index("verify FAILED: no ping")


def test_lab_reports_fails_when_there_is_none(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    assert cli.main(["lab", "reports", "--name", "mol"]) == 1
    assert "no failure report of lab mol" in capsys.readouterr().out


def test_lab_down_keeps_the_diagnostics_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    the_lab = lab.Lab("keep", "aio", "resolute", 1, 7, "10.213.7.0/24", "10.213.8.0/24")
    run_dir = the_lab.directory() / "diagnostics" / "20261122-060000"
    run_dir.mkdir(parents=True)
    (run_dir / "report.txt").write_text("report")
    (the_lab.directory() / "diagnostics" / "empty-run").mkdir()
    kept = lab.keep_reports(the_lab)
    assert kept == tmp_path / "reports" / "keep"
    assert (kept / "20261122-060000" / "report.txt").read_text() == "report"
    assert not (kept / "empty-run").exists()


def test_lab_down_keeps_the_upgrade_reports_and_lab_reports_finds_their_summaries(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    the_lab = lab.Lab("keep", "aio", "resolute", 1, 7, "10.213.7.0/24", "10.213.8.0/24")
    failed = the_lab.directory() / "upgrades" / "20261122-070000"
    (failed / "diagnostics").mkdir(parents=True)
    (failed / "report.json").write_text("{}")
    (failed / "diagnostics" / cli.SUMMARY_FILE).write_text("upgrade FAILED: nova-conductor")
    passed = the_lab.directory() / "upgrades" / "20261122-080000"
    passed.mkdir(parents=True)
    (passed / "report.json").write_text("{}")
    (the_lab.directory() / "upgrades" / "20261122-090000").mkdir()  # a run that wrote nothing
    earlier = the_lab.directory() / "diagnostics" / "20261122-060000"
    earlier.mkdir(parents=True)
    (earlier / "report.txt").write_text("report")
    (earlier / cli.SUMMARY_FILE).write_text("deploy FAILED")
    # Found while the lab exists, oldest first.
    assert [path.read_text() for path in lab.report_summaries("keep", cli.SUMMARY_FILE)] == [
        "deploy FAILED",
        "upgrade FAILED: nova-conductor",
    ]
    kept = lab.keep_reports(the_lab)
    assert (kept / "upgrades" / "20261122-070000" / "report.json").is_file()
    assert (kept / "upgrades" / "20261122-080000" / "report.json").is_file()
    assert not (kept / "upgrades" / "20261122-090000").exists()
    assert oct(kept.stat().st_mode & 0o777) == "0o700"
    assert oct((kept / "upgrades").stat().st_mode & 0o777) == "0o700"
    # And after the lab is gone.
    assert [path.read_text() for path in lab.report_summaries("keep", cli.SUMMARY_FILE)] == [
        "deploy FAILED",
        "upgrade FAILED: nova-conductor",
    ]
    assert cli.main(["lab", "reports", "--name", "keep"]) == 0
    assert "upgrade FAILED: nova-conductor" in capsys.readouterr().out


def test_lab_reports_names_a_kept_report_where_lab_down_moved_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    the_lab = lab.Lab("keep", "aio", "resolute", 1, 7, "10.213.7.0/24", "10.213.8.0/24")
    run_dir = the_lab.directory() / lab.DIAGNOSTICS_DIR / "20261122-060000"
    run_dir.mkdir(parents=True)
    (run_dir / lab.DIAGNOSTICS_REPORT).write_text(REPORT)
    cli.summarize_report(run_dir, out=io.StringIO(), headline=["deploy FAILED"])
    written_at_failure = f"{cli.FULL_REPORT_LINE}{run_dir / lab.DIAGNOSTICS_REPORT}"
    kept = lab.keep_reports(the_lab) / "20261122-060000"
    assert cli.main(["lab", "reports", "--name", "keep"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{cli.FULL_REPORT_LINE}{kept / lab.DIAGNOSTICS_REPORT}" in out
    assert written_at_failure not in out
    # The kept file itself is left as it was written.
    assert written_at_failure in (kept / cli.SUMMARY_FILE).read_text().splitlines()
