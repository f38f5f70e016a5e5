"""The upgrade check: before, the upgrade (a deploy with the packages under test), after, verify.

The driver runs the steps one by one, so that a failed upgrade still gets its report and its
canaries removed; the playbooks do the work, this module only puts their results together.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

STEPS = ("before", "upgrade", "after", "verify")
STEP_PLAYBOOKS = {"before": "upgrade_before", "upgrade": "site", "after": "upgrade_after", "verify": "verify"}
MAX_ERROR_LINES = 12


# Beside the inventory, each upgrade run's reports go into <UPGRADES_DIR>/<time>/ (kept past `lab down`).
UPGRADES_DIR = "upgrades"


def report_dir(inventory: str) -> Path:
    return Path(inventory).resolve().parent / UPGRADES_DIR / time.strftime("%Y%m%d-%H%M%S")


def build_report(directory: Path, steps: dict[str, int | None], sources: list[dict], failed_tasks=()) -> dict:
    """The upgrade report from the results the playbooks saved in `directory` and each step's exit
    status (None: not run). The verdict is passed only when every step ran and passed."""
    hosts = {}
    for path in sorted(directory.glob("host-*.json")):
        hosts[path.stem[len("host-") :]] = _read(path)
    canaries = _read(directory / "canaries.json")
    failures = [f"step {step} ({STEP_PLAYBOOKS[step]}) failed (exit {rc})" for step, rc in steps.items() if rc]
    failures += [f"step {step} did not run" for step, rc in steps.items() if rc is None]
    failures += list(failed_tasks)
    for host, result in hosts.items():
        failures += [f"{host}: unit {unit} failed" for unit in result.get("failed", [])]
        failures += [
            f"{host}: unit {unit} keeps restarting ({info['restarts']} automatic restarts; package {info['package']} "
            + _package_change(result, info["package"])
            + ")"
            for unit, info in result.get("restarting", {}).items()
        ]
        failures += [
            f"{host}: unit {unit} was running before the upgrade and is not now" for unit in result.get("stopped", [])
        ]
    failures += canaries.get("failures", [])
    changed = any(result.get("packages") for result in hosts.values())
    return {
        "verdict": "passed" if not failures else "failed",
        "package_sources": sources,
        "steps": steps,
        "nothing_changed": bool(hosts) and not changed,
        "hosts": hosts,
        "canaries": canaries.get("canaries", []),
        "nova_status": canaries.get("nova_status", {}),
        "failures": failures,
    }


def _package_change(result: dict, package: str) -> str:
    for item in result.get("packages", []):
        if item["package"] == package:
            return f"{item['before']} -> {item['after']}"
    return "unchanged"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def format_report(report: dict, directory: Path) -> str:
    lines = ["", f"aptstack upgrade report: {report['verdict'].upper()}"]
    if report["nothing_changed"]:
        lines.append("  nothing to upgrade: every host already runs the versions the sources under test offer")
    for host, result in report["hosts"].items():
        for item in result.get("packages", []):
            lines.append(f"  {host}: {item['package']} {item['before']} -> {item['after']} ({item['origin']})")
        if result.get("restarted"):
            lines.append(f"  {host}: restarted {', '.join(result['restarted'])}")
        if result.get("stop_timed_out"):
            lines.append(
                f"  {host}: did not stop on SIGTERM (systemd waited out the stop timeout, then killed them): "
                + ", ".join(result["stop_timed_out"])
            )
        if result.get("failed"):
            lines.append(f"  {host}: FAILED units {', '.join(result['failed'])}")
        if result.get("leftovers"):
            lines.append(f"  {host}: configuration leftovers {', '.join(result['leftovers'])}")
        if result.get("error_count"):
            lines.append(
                f"  {host}: {result['error_count']} new ERROR/CRITICAL/Traceback lines since the upgrade began:"
            )
            lines += [f"    {line}" for line in result.get("errors", [])[-MAX_ERROR_LINES:]]
    for canary in report["canaries"]:
        lost = canary.get("pings_lost")
        lines.append(
            f"  canary on {canary.get('inventory_host')}: {canary.get('status')}, "
            + ("answers ping" if canary.get("answers_after") else "does NOT answer ping")
            + (f", lost {lost} of {canary.get('pings_sent')} pings during the upgrade" if lost is not None else "")
        )
    if report["nova_status"]:
        lines.append(f"  nova-status upgrade check: exit {report['nova_status'].get('rc')}")
    lines += [f"  FAILED: {failure}" for failure in report["failures"]]
    lines.append(f"  report: {directory / 'report.json'}")
    return "\n".join(lines)


def write_report(report: dict, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    text = format_report(report, directory)
    (directory / "report.txt").write_text(text.lstrip("\n") + "\n")
    return text
