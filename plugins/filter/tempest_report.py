# Copyright: aptstack developers
# Apache License 2.0
"""The Tempest run's verdict: counts, failures, skips with their reasons, known failures and the
comparison with a baseline. Plain values in and out (the role's results step and unit tests)."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: tempest_report
short_description: The verdict of a Tempest run, from its tests' results
description:
  - Takes the tests of a Tempest run (id, status, reason, duration, as the tempest role's
    subunit reader prints them) and returns counts (passed, failed, skipped, known failures),
    the failed tests with their details, every skipped test with Tempest's reason, the known
    failures that failed (each with its reason) and those that passed again.
  - A failed test whose id matches an entry of O(known_failures) (a regular expression searched
    in the id without its C([...]) attributes) is a known failure, listed with the entry's reason;
    it does not fail the run. Every other failure does, and so does a run that ran no test.
  - With O(baseline) (an earlier report) it also lists the tests that newly failed and newly passed.
  - The same file holds C(tempest_report_text), the report as the lines of a one-screen summary.
positional: known_failures, baseline
options:
  _input:
    description: The run's tests, each a dict with C(id), C(status) (subunit's C(success), C(fail),
      C(skip), C(xfail), C(uxsuccess)), C(reason) and C(duration_s).
    type: list
    elements: dict
    required: true
  known_failures:
    description: Entries with C(test) (a regular expression) and C(reason).
    type: list
    elements: dict
    default: []
  baseline:
    description: An earlier report of this filter (its C(tests) map is read); empty compares nothing.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The run's verdict
  ansible.builtin.set_fact:
    report: "{{ tests | aptstack.openstack.tempest_report(known, previous) }}"
"""

RETURN = r"""
_value:
  description: C(verdict) (passed or failed), C(counts), C(failed), C(known_failures),
    C(known_failures_passed), C(skipped), C(tests) (id to passed/failed/skipped) and, with a
    baseline, C(baseline) with C(newly_failed) and C(newly_passed).
  type: dict
"""

PASSED = ("success", "xfail")
FAILED = ("fail", "uxsuccess")
SKIPPED = ("skip",)
ATTRIBUTES = re.compile(r"\[[^\]]*\]$")
DETAIL_LINES = 12


def test_name(test_id):
    """The id without Tempest's attribute suffix ([id-...,smoke]), as lists and baselines name it."""
    return ATTRIBUTES.sub("", str(test_id))


def outcome(status):
    if status in PASSED:
        return "passed"
    if status in FAILED:
        return "failed"
    if status in SKIPPED:
        return "skipped"
    return None


def _known(name, known_failures):
    for entry in known_failures or []:
        if re.search(str(entry.get("test", "")), name):
            return entry
    return None


def _tail(text, lines=DETAIL_LINES):
    return "\n".join(str(text or "").strip().splitlines()[-lines:])


def tempest_report(tests, known_failures=None, baseline=None):
    report = {
        "counts": {"passed": 0, "failed": 0, "skipped": 0, "known_failures": 0, "total": 0},
        "failed": [],
        "known_failures": [],
        "known_failures_passed": [],
        "skipped": [],
        "tests": {},
        "duration_s": 0.0,
    }
    for test in tests or []:
        result = outcome(test.get("status"))
        if result is None:
            continue
        name = test_name(test.get("id", ""))
        known = _known(name, known_failures)
        report["tests"][name] = result
        report["counts"]["total"] += 1
        report["duration_s"] += float(test.get("duration_s") or 0)
        if result == "failed" and known:
            report["counts"]["known_failures"] += 1
            details = _tail(test.get("reason"))
            report["known_failures"].append({"id": name, "reason": known.get("reason", ""), "details": details})
        elif result == "failed":
            report["counts"]["failed"] += 1
            report["failed"].append({"id": name, "details": _tail(test.get("reason"))})
        elif result == "skipped":
            report["counts"]["skipped"] += 1
            report["skipped"].append({"id": name, "reason": _tail(test.get("reason"), 1)})
        else:
            report["counts"]["passed"] += 1
            if known:
                report["known_failures_passed"].append({"id": name, "reason": known.get("reason", "")})
    report["duration_s"] = round(report["duration_s"], 1)
    before = (baseline or {}).get("tests") or {}
    if before:
        now = report["tests"]
        report["baseline"] = {
            "newly_failed": sorted(n for n, r in now.items() if r == "failed" and before.get(n) == "passed"),
            "newly_passed": sorted(n for n, r in now.items() if r == "passed" and before.get(n) == "failed"),
            "missing": sorted(n for n in before if n not in now),
        }
    failed = report["counts"]["failed"] > 0 or report["counts"]["total"] == 0
    report["verdict"] = "failed" if failed else "passed"
    return report


def tempest_report_text(report):
    """The report as summary lines: counts, then each failure, known failure and skip with its reason."""
    counts = report.get("counts", {})
    lines = [
        f"aptstack tempest: {str(report.get('verdict', 'failed')).upper()} - "
        f"{counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
        f"{counts.get('skipped', 0)} skipped, {counts.get('known_failures', 0)} known failures "
        f"({counts.get('total', 0)} tests, {report.get('duration_s', 0)}s in tests)"
    ]
    if counts.get("total", 0) == 0:
        lines.append("no test ran: the selection matched nothing, or Tempest could not start")
    for item in report.get("failed", []):
        lines.append(f"FAILED {item['id']}")
        lines.extend(f"    {line}" for line in (item.get("details") or "").splitlines()[-3:])
    for item in report.get("known_failures", []):
        lines.append(f"known failure {item['id']}: {item['reason']}")
    for item in report.get("known_failures_passed", []):
        lines.append(f"known failure passed (remove it from the list?) {item['id']}: {item['reason']}")
    for item in report.get("skipped", []):
        lines.append(f"skipped {item['id']}: {item.get('reason') or 'no reason given'}")
    base = report.get("baseline")
    if base:
        lines.append(
            f"against the baseline: {len(base['newly_failed'])} newly failed, "
            f"{len(base['newly_passed'])} newly passed, {len(base['missing'])} not run"
        )
        lines.extend(f"newly failed {name}" for name in base["newly_failed"])
        lines.extend(f"newly passed {name}" for name in base["newly_passed"])
    return lines


class FilterModule:
    def filters(self):
        return {"tempest_report": tempest_report, "tempest_report_text": tempest_report_text}
