"""The upgrade check catches what it exists to catch (make upgrade-check; one aio lab, about 12 min alone).

A cloud deployed from the release is upgraded to a rebuilt nova (every binary, version +local1):
the verdict is passed, the report names nova's packages going from -> to and the restarted nova
units. A second upgrade with the same overlay has nothing to do. Then an upgrade to a nova whose
conductor cannot start (a syntax error in nova/conductor/manager.py, version +local2) must fail,
and its report must name the failing unit, the package that changed and the log lines, and its
diagnostics digest the packages under test at +local2.
"""

import json
import re
import time
from pathlib import Path

import pytest

from aptstack import cli, lab

from .conftest import aptstack, archive_debs, inventory, release_lab, repack

LAB = "upg"


@pytest.fixture(scope="module")
def release_report():
    with release_lab(LAB) as reports:
        yield next(iter(reports.values()))


@pytest.fixture(scope="module")
def good_overlay(release_report, tmp_path_factory):
    return repack(tmp_path_factory.mktemp("good"), archive_debs(release_report, "nova"), "--suffix", "+local1")


def upgrade(overlay):
    proc = aptstack("upgrade", "-i", inventory(LAB), "--debs", str(overlay), "--json", check=False, timeout=5400)
    return proc.returncode, json.loads(proc.stdout)


def diagnostics_summary(since: float) -> str:
    """The digest (summary.txt) of the newest diagnostics report the lab's runs wrote since `since`."""
    found = [
        path
        for path in Path(inventory(LAB)).parent.rglob(cli.SUMMARY_FILE)
        if lab.DIAGNOSTICS_DIR in path.parts and path.stat().st_mtime >= since
    ]
    assert found, "the failed upgrade wrote no diagnostics summary"
    return max(found, key=lambda path: path.stat().st_mtime).read_text()


def test_a_good_upgrade_passes_and_names_what_changed(good_overlay):
    status, report = upgrade(good_overlay)
    assert status == 0, report["failures"]
    assert report["verdict"] == "passed"
    [host] = report["hosts"].values()
    changed = {item["package"]: item for item in host["packages"]}
    assert changed["python3-nova"]["after"].endswith("+local1")
    assert changed["python3-nova"]["origin"] == "local overlay"
    assert "nova-conductor.service" in host["restarted"]
    # Every restarted unit stopped on SIGTERM: a daemon that hangs on stop is a regression.
    assert host["stop_timed_out"] == [], host["stop_timed_out"]
    assert all(canary["status"] == "ACTIVE" and canary["answers_after"] for canary in report["canaries"])
    print("canaries:", report["canaries"])


def test_the_same_upgrade_again_has_nothing_to_do(good_overlay):
    status, report = upgrade(good_overlay)
    assert status == 0, report["failures"]
    assert report["nothing_changed"] is True


def test_a_broken_package_is_caught(release_report, tmp_path):
    broken = repack(
        tmp_path / "broken",
        archive_debs(release_report, "nova"),
        "--suffix",
        "+local2",
        "--break",
        "usr/lib/python3/dist-packages/nova/conductor/manager.py",
    )
    started = time.time()
    status, report = upgrade(broken)
    assert status == 1
    assert report["verdict"] == "failed"
    [host] = report["hosts"].values()
    assert any(item["package"] == "python3-nova" and item["after"].endswith("+local2") for item in host["packages"])
    text = " ".join(report["failures"]) + " ".join(host.get("errors", []))
    assert "nova-conductor" in text
    assert any("SyntaxError" in line or "aptstack_broken_on_purpose" in line for line in host.get("errors", []))
    # The diagnostics digest names the upload the failed cloud ran: nova's packages at +local2.
    summary = diagnostics_summary(started)
    assert "\n  packages under test:\n" in summary, summary
    under_test = summary.split("\n  packages under test:\n", 1)[1].split("\n  full report", 1)[0]
    assert re.search(r"python3-nova \S+\+local2 \(local overlay\)", under_test), summary
