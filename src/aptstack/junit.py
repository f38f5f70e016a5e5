"""JUnit XML of a check, for CI systems: one test case per check of each server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# A server's failures start with the name of the check that failed (plugins/module_utils/boot_check.py).
SERVER_CHECKS = (
    ("placement", "placement:"),
    ("fixed-address ping", "fixed-address ping:"),
    ("floating-address ping", "floating-address ping:"),
)
GUEST_CHECK = "guest console (DHCP address, metadata)"


@dataclass
class Case:
    classname: str
    name: str
    failure: str | None = None
    seconds: float | None = None
    skipped: bool = False


HEAT_CHECK = "Heat check"
HORIZON_CHECK = "Horizon check"
CINDER_CHECK = "Cinder check"


def verify_cases(result: dict) -> list[Case]:
    """Per server: placement, the two pings and what the guest reported; then cleanup. A check that
    failed before any server booted is one failed case naming why."""
    cases, attributed = [], set()
    for server in result.get("servers") or []:
        host = server.get("inventory_host") or server.get("host") or server.get("id") or "server"
        problems = list(server.get("failures") or [])
        attributed.update(f"{host}: {problem}" for problem in problems)
        timings = server.get("timings") or {}
        seconds = {
            "fixed-address ping": timings.get("first_ping_s"),
            "floating-address ping": timings.get("floating_ping_s"),
        }
        for name, prefix in SERVER_CHECKS:
            mine = [p for p in problems if p.startswith(prefix)]
            cases.append(Case(f"verify.{host}", name, "; ".join(mine) or None, seconds.get(name)))
        rest = [p for p in problems if not p.startswith(tuple(prefix for _name, prefix in SERVER_CHECKS))]
        cases.append(Case(f"verify.{host}", GUEST_CHECK, "; ".join(rest) or None))
    failures = [f for f in result.get("failures") or [] if f not in attributed]
    cleanup = [f for f in failures if f.startswith("cleanup: ")]
    # The Heat ping check's tasks all start with its name.
    heat = [f for f in failures if f.startswith(HEAT_CHECK)]
    horizon = [f for f in failures if f.startswith(HORIZON_CHECK)]
    cinder = [f for f in failures if f.startswith(CINDER_CHECK)]
    other = [f for f in failures if f not in cleanup and f not in heat and f not in horizon and f not in cinder]
    if other or not result.get("servers"):
        failed = result.get("result") != "passed"
        cases.insert(0, Case("verify", "boot check", "; ".join(other) or ("failed" if failed else None)))
    if result.get("heat"):
        cases.append(Case("verify", "heat stack", "; ".join(heat) or None, result["heat"].get("create_s")))
    if result.get("horizon"):
        cases.append(Case("verify", "horizon dashboard", "; ".join(horizon) or None, result["horizon"].get("total_s")))
    if result.get("cinder"):
        cases += cinder_cases(result["cinder"], "; ".join(cinder) or None)
    cleanup_info = result.get("cleanup") or {}
    left = [
        item.get("name", str(item)) if isinstance(item, dict) else str(item) for item in cleanup_info.get("left", [])
    ]
    if cleanup_info.get("kept"):
        cases.append(Case("verify", "cleanup", skipped=True))
    elif result.get("servers") or cleanup:
        message = "; ".join(cleanup + ([f"left: {', '.join(left)}"] if left else []))
        cases.append(Case("verify", "cleanup", message or None))
    return cases


def cinder_cases(cinder: dict, failure: str | None) -> list[Case]:
    """The volume check's two parts: the attach (write, read back, detach, delete), then the boot from
    a volume, which runs only after a complete attach. A part is complete once its delete is timed."""
    attach = (cinder.get("attach") or {}).get("timings") or {}
    boot = (cinder.get("boot_from_volume") or {}).get("timings") or {}
    attach_done = "delete_s" in attach
    cases = [Case("verify", "cinder volume attach", None if attach_done else failure or "failed", sum(attach.values()))]
    if not attach_done:
        cases.append(Case("verify", "cinder boot from volume", skipped=True))
    else:
        bfv_failure = None if "delete_s" in boot or not failure else failure
        cases.append(Case("verify", "cinder boot from volume", bfv_failure, sum(boot.values()) if boot else None))
    return cases


def up_cases(timings: dict, failures: list[str], check: dict) -> list[Case]:
    """The deploy as one case, then the check's cases (one skipped case when the deploy failed)."""
    if "verify" not in timings:
        failure = "; ".join(failures) or "failed"
        return [Case("up", "deploy", failure, timings.get("deploy")), Case("verify", "boot check", skipped=True)]
    return [Case("up", "deploy", None, timings.get("deploy")), *verify_cases(check)]


def to_xml(cases: list[Case], suite: str = "aptstack") -> bytes:
    failures = sum(1 for case in cases if case.failure)
    skipped = sum(1 for case in cases if case.skipped)
    total = sum(case.seconds or 0 for case in cases)
    root = ET.Element("testsuites")
    suite_el = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{total:.1f}",
    )
    for case in cases:
        case_el = ET.SubElement(
            suite_el, "testcase", classname=case.classname, name=case.name, time=f"{case.seconds or 0:.1f}"
        )
        if case.failure:
            ET.SubElement(case_el, "failure", message=case.failure.splitlines()[0][:500]).text = case.failure
        elif case.skipped:
            ET.SubElement(case_el, "skipped")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write(path: Path, cases: list[Case], suite: str = "aptstack") -> None:
    Path(path).write_bytes(to_xml(cases, suite))
