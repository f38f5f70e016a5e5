# Copyright: aptstack developers
# Apache License 2.0
"""The boot check's report on the controller: per-server results and the failures as
sentences (used by the boot_check_report filter; never sent to a host)."""

from __future__ import annotations

from ansible_collections.aptstack.openstack.plugins.module_utils.timing import round_seconds


def _ping_report(ping, inventory_host):
    ping = ping or {}
    return {
        "host": inventory_host if ping.get("host") else None,
        "hostname": ping.get("host"),
        "namespace": ping.get("namespace"),
        "address": ping.get("address"),
        "answered": ping.get("answered_at") is not None,
        "elapsed_s": ping.get("elapsed"),
    }


def _no_answer(ping):
    if not ping or ping.get("skipped"):
        return "not pinged"
    return ping.get("msg") or "no answer"


def _early_pings_by_address(early_pings):
    """The pings started before the servers existed (async_status results of wait_ping), by address.

    A job still running when the check stopped waiting has no result of its own: its address is
    the one it was started with (``item.item.address``)."""
    by_address = {}
    for ping in early_pings or []:
        started_with = (ping.get("item") or {}).get("item") or {}
        address = ping.get("address") or started_with.get("address")
        if not address:
            continue
        if not ping.get("finished"):
            ping = {**ping, "msg": "no answer while the check waited after the guest's ready marker"}
        by_address[address] = ping
    return by_address


def _since(later, earlier):
    return None if later is None or earlier is None else round_seconds(float(later) - float(earlier))


def check_report(servers, fixed_pings, floating_pings=None, floating_host=None, early_fixed_pings=None):
    """Per-server results of a boot check and everything that failed, as sentences.

    ``servers`` are the module's ``servers``; ``fixed_pings`` and ``floating_pings`` the
    wait_ping results in the same order (a skipped or missing ping counts as not answered).
    ``floating_host`` is the inventory host the floating addresses were pinged from; without
    it the floating addresses are not expected to answer. ``early_fixed_pings`` are the fixed
    pings started before the servers existed (async_status results); a server's fixed address
    found among them takes that result instead of its place in ``fixed_pings``.
    Returns ``{"servers": [...], "failures": [...], "timings": {...}}``; each failure names
    its server's host, and ``timings`` holds the slowest server's figure of each per-server
    timing (None when any server lacks it: that server never got there).
    """
    report, failures = [], []
    floating_pings = floating_pings or []
    early = _early_pings_by_address(early_fixed_pings)
    for index, server in enumerate(servers or []):
        fixed = early.get(server.get("fixed_ip")) or (fixed_pings[index] if index < len(fixed_pings or []) else {})
        floating = floating_pings[index] if index < len(floating_pings) else {}
        where = server.get("inventory_host") or server.get("host") or server.get("id")
        console = server.get("console") or {}
        timings = server.get("timings") or {}
        created_at = timings.get("created_at")
        problems = []
        target = server.get("target_host")
        if server.get("inventory_host") is None:
            problems.append(
                f"placement: the server runs on compute host {server.get('host')} (hypervisor "
                f"{server.get('hypervisor_hostname')}, {server.get('hypervisor_ip') or 'no address'}), "
                "which matches no inventory host by name or address"
            )
        elif target and server["inventory_host"] != target:
            problems.append(f"placement: the server for {target} runs on {server['inventory_host']}")
        if fixed.get("answered_at") is None:
            problems.append("fixed-address ping: " + _no_answer(fixed))
        if floating_host and floating.get("answered_at") is None:
            problems.append("floating-address ping: " + _no_answer(floating))
        problems.extend(console.get("problems") or [])
        failures.extend(f"{where}: {problem}" for problem in problems)
        report.append(
            {
                "id": server.get("id"),
                "name": server.get("name"),
                "target_host": target,
                "host": server.get("host"),
                "hypervisor_hostname": server.get("hypervisor_hostname"),
                "inventory_host": server.get("inventory_host"),
                "fixed_ip": server.get("fixed_ip"),
                "floating_ip": server.get("floating_ip"),
                "network_id": server.get("network_id"),
                "mtu": server.get("mtu"),
                "port": server.get("port") or {},
                "guest": {
                    "dhcp_address": console.get("dhcp_address"),
                    "iface": console.get("iface"),
                    "metadata_uuid": console.get("metadata_uuid"),
                    "markers": console.get("markers") or [],
                    "uptimes": console.get("uptimes") or {},
                },
                "pings": {
                    "fixed": _ping_report(fixed, server.get("inventory_host")),
                    "floating": _ping_report(floating, floating_host),
                },
                "timings": {
                    "active_s": timings.get("active_s"),
                    "console_s": timings.get("console_s"),
                    # Server create request (on the controller) to the first answer (on the compute host).
                    "first_ping_s": _since(fixed.get("answered_at"), created_at),
                    "floating_ping_s": _since(floating.get("answered_at"), created_at),
                },
                "failures": problems,
                # The console tells most about a failed server; a good one needs no tail.
                "console_tail": (console.get("tail") or []) if problems else [],
            }
        )
    keys = ("active_s", "console_s", "first_ping_s", "floating_ping_s")
    slowest = {}
    for key in keys:
        values = [entry["timings"][key] for entry in report]
        slowest[key] = max(values) if values and None not in values else None
    return {"servers": report, "failures": failures, "timings": slowest}
