"""Record the checks that fail, so that molecule's destroy collects the lab's diagnostics first.

molecule's destroy playbook reads the run record in APTSTACK_FAILURES_FILE (written by the
failure_summary callback for converge and idempotence) and runs `aptstack diagnose` before the lab
goes. A failed check writes the same kind of record here; without it the lab's journals would go
with the lab."""

import json
import os
from pathlib import Path

import pytest

FAILED_CHECKS = []
MESSAGE_LINES = 6


def check_host(item):
    """The lab host a check ran on, or the hosts it was given."""
    host = item.funcargs.get("host")
    if host is not None:
        return host.backend.get_hostname()
    return (item.config.getoption("hosts", None) or "verify").removeprefix("ansible://")


def failure_message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return "\n".join(text.splitlines()[:MESSAGE_LINES])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        FAILED_CHECKS.append({
            "host": check_host(item),
            "role": "verify",
            "task": f"{report.nodeid} ({report.when})" if report.when != "call" else report.nodeid,
            "kind": "failed",
            "preflight": False,
            "message": failure_message(report),
        })  # fmt: skip


def pytest_sessionfinish(session, exitstatus):
    failures_file = os.environ.get("APTSTACK_FAILURES_FILE")
    if FAILED_CHECKS and failures_file:
        Path(failures_file).write_text(json.dumps({"failed": True, "failures": FAILED_CHECKS}, indent=1))
