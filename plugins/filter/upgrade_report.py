# Copyright: aptstack developers
# Apache License 2.0
"""Filters of the upgrade check: what changed on a host, and how the canaries fared."""

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_host_result
short_description: What an upgrade changed on one host
description:
  - Compares the record taken before an upgrade (versions and running units) with the versions
    and the host state after it.
  - Returns the packages whose version changed (C(packages), each with C(before), C(after),
    C(origin)), the units that restarted, stopped or started, the failed units, the configuration
    files the upgrade left beside the deployed ones, and the new service log errors.
  - The same file holds C(upgrade_canary_result), which reads the canaries' ping counts, their
    server state, their last ping, nova's upgrade check and the cleanup into one result with
    C(failures).
positional: versions_after, state_after
options:
  _input:
    description: The record from before the upgrade (C(versions), C(state)).
    type: dict
    required: true
  versions_after:
    description: The C(packages) of M(aptstack.openstack.package_versions) after the upgrade.
    type: list
    elements: dict
    required: true
  state_after:
    description: The host state after the upgrade (units, failed, leftovers, errors).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: What the upgrade did on this host
  ansible.builtin.set_fact:
    result: "{{ before | aptstack.openstack.upgrade_host_result(versions.packages, state) }}"
"""

RETURN = r"""
_value:
  description: The host's upgrade result.
  type: dict
"""

import base64
import re

# The upgrade check's own transient units (the canaries' pings) are not news.
CHECK_UNITS = "aptstack-canary-ping-"
PING_COUNTS = re.compile(r"(\d+) packets transmitted, (\d+) received")


def _key(item):
    return (item["package"], item.get("architecture", ""))


def upgrade_host_result(before, versions_after, state_after):
    old = {_key(item): item for item in before.get("versions", [])}
    new = {_key(item): item for item in versions_after}
    packages = []
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was and now and was["version"] == now["version"]:
            continue
        packages.append(
            {
                "package": key[0],
                "source": (now or was)["source"],
                "before": was["version"] if was else None,
                "after": now["version"] if now else None,
                "origin": now["origin"] if now else "removed",
            }
        )
    units_before = before.get("state", {}).get("units", {})
    units_after = state_after.get("units", {})
    return {
        "started_at": before.get("state", {}).get("time"),
        "finished_at": state_after.get("time"),
        "packages": packages,
        "restarted": sorted(u for u in units_before if u in units_after and units_before[u] != units_after[u]),
        "stopped": sorted(u for u in units_before if u not in units_after),
        "started": sorted(u for u in units_after if u not in units_before and not u.startswith(CHECK_UNITS)),
        "failed": state_after.get("failed", []),
        "leftovers": state_after.get("leftovers", []),
        "stop_timed_out": state_after.get("stop_timed_out", []),
        "restarting": {
            unit: info
            for unit, info in state_after.get("restarting", {}).items()
            if info.get("restarts", 0) > before.get("state", {}).get("restarting", {}).get(unit, {}).get("restarts", 0)
        },
        "errors": state_after.get("errors", []),
        "error_count": state_after.get("error_count", 0),
    }


def _ping_counts(log_result):
    text = base64.b64decode(log_result.get("content", "")).decode(errors="replace") if log_result else ""
    match = PING_COUNTS.search(text)
    if match:
        sent, received = int(match.group(1)), int(match.group(2))
        return sent, received
    return None, text.count("bytes from")


def upgrade_canary_result(canaries, ping_logs, servers, final_pings, nova_status, cleanup):
    results, failures = [], []
    for index, canary in enumerate(canaries):
        sent, received = _ping_counts(ping_logs[index] if index < len(ping_logs) else None)
        found = servers[index].get("servers", []) if index < len(servers) else []
        status = found[0].get("status") if found else "gone"
        answered = index < len(final_pings) and "answered_at" in final_pings[index]
        name = canary.get("inventory_host") or canary.get("id")
        results.append(
            {
                "inventory_host": canary.get("inventory_host"),
                "server": canary.get("id"),
                "floating_ip": canary.get("floating_ip"),
                "pings_sent": sent,
                "pings_answered": received,
                "pings_lost": None if sent is None else sent - received,
                "status": status,
                "answers_after": answered,
            }
        )
        if sent is None:
            failures.append(f"canary on {name}: its ping log has no count (was the ping running?)")
        if status != "ACTIVE":
            failures.append(f"canary on {name} is {status} after the upgrade")
        if not answered:
            failures.append(f"canary on {name} ({canary.get('floating_ip')}) no longer answers ping")
    rc = nova_status.get("rc")
    if rc is None or rc >= 2:
        failures.append(f"nova-status upgrade check failed (exit {rc}): {_tail(nova_status)}")
    if cleanup.get("msg"):  # the boot_check_cleanup module only has a message when it failed
        failures.append(f"canary cleanup: {cleanup.get('msg')}")
    return {
        "canaries": results,
        "nova_status": {"rc": rc, "output": nova_status.get("stdout", "")},
        "failures": failures,
    }


def _tail(result):
    lines = (result.get("stdout", "") + "\n" + result.get("stderr", "")).strip().splitlines()
    return " / ".join(lines[-3:]) or "no output"


class FilterModule:
    def filters(self):
        return {"upgrade_host_result": upgrade_host_result, "upgrade_canary_result": upgrade_canary_result}
