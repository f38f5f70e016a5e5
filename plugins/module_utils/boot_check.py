# Copyright: aptstack developers
# Apache License 2.0
"""Decision logic of the boot_check and boot_check_cleanup modules, free of openstacksdk and
Ansible: run names and the resources of a run, port binding facts and failure hints, and which compute host a
server runs on. Works on plain values so that it can be unit tested without a cloud.
"""

from __future__ import annotations

import re

# Tag put on every Neutron resource of a run, and metadata key put on its server.
RUN_TAG_PREFIX = "aptstack-run="
RUN_METADATA_KEY = "aptstack_run"

_RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")


# --------------------------------------------------------------------------- run names


def check_run_name(run_name):
    """Return an error message for an unusable run name, or None.

    The name goes into resource names, a Neutron tag (no commas or slashes) and a
    server metadata value, so it is kept to a short, plain alphabet.
    """
    if not isinstance(run_name, str) or not _RUN_NAME_RE.match(run_name):
        return (
            f"run_name {run_name!r} must be 1-48 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def run_tag(run_name):
    """The Neutron tag that marks every network resource of a run."""
    return RUN_TAG_PREFIX + run_name


def resource_names(run_name):
    """Names of the resources of one run (the flavor is shared and named separately)."""
    return {
        "network": f"{run_name}-net",
        "subnet": f"{run_name}-subnet",
        "router": f"{run_name}-router",
        "security_group": f"{run_name}-sg",
        **server_names(run_name),
        "floating_ip": f"aptstack boot check {run_name}",
    }


def server_names(run_name, target=None):
    """Names of one server of a run and of its port.

    A run places one server per target host; without targets it boots a single server
    wherever the scheduler puts it.
    """
    suffix = f"-{target}" if target else ""
    return {"server": f"{run_name}-server{suffix}", "port": f"{run_name}-port{suffix}"}


def run_names(run_name, targets=()):
    """Every name of a run: its resources' and, per target (or the one unpinned server), the
    server's and port's. What the verify role creates and what the cleanup finds."""
    return {
        **resource_names(run_name),
        "servers": [{"target": target or None, **server_names(run_name, target)} for target in (targets or [None])],
    }


def belongs_to_run(resource, run_name, name=None, description=None):
    """Whether a resource (a dict with name, tags, description, metadata) is one of the run's.

    A resource is the run's when it carries the run tag, the run metadata, or the exact
    name (or description) the run gives it. Names alone cover a resource whose tags were
    never set because creation was interrupted.
    """
    tags = resource.get("tags") or []
    if run_tag(run_name) in tags:
        return True
    metadata = resource.get("metadata") or {}
    if metadata.get(RUN_METADATA_KEY) == run_name:
        return True
    if name is not None and resource.get("name") == name:
        return True
    return description is not None and resource.get("description") == description


def unique_by_id(resources):
    """Drop repeated resources (dicts or objects with an id), keeping the first."""
    seen = set()
    out = []
    for res in resources:
        rid = res["id"] if isinstance(res, dict) else res.id
        if rid in seen:
            continue
        seen.add(rid)
        out.append(res)
    return out


# --------------------------------------------------------------------------- ports and faults


def port_state(port):
    """The binding facts of a port (a dict as Neutron returns it) that explain a failure."""
    if not port:
        return {}
    return {
        "id": port.get("id"),
        "status": port.get("status"),
        "binding_vif_type": port.get("binding:vif_type", port.get("binding_vif_type")),
        "binding_host_id": port.get("binding:host_id", port.get("binding_host_id")),
        "binding_vif_details": port.get("binding:vif_details", port.get("binding_vif_details")) or {},
        "device_owner": port.get("device_owner"),
        "device_id": port.get("device_id"),
        "fixed_ips": [ip.get("ip_address") for ip in port.get("fixed_ips") or []],
        "mac_address": port.get("mac_address"),
    }


def diagnose(server_status=None, fault=None, port=None, parsed=None):
    """Short hints on what failed, from the server state, its fault, its port and console."""
    hints = []
    if fault:
        message = ((fault.get("message") if isinstance(fault, dict) else str(fault)) or "").strip()
        if message:
            hints.append(f"nova fault: {message}")
    if server_status and server_status not in ("ACTIVE", "BUILD"):
        hints.append(f"server status {server_status}")
    port = port or {}
    vif_type = port.get("binding_vif_type")
    host = port.get("binding_host_id")
    if vif_type == "binding_failed":
        hints.append(
            f"neutron could not bind the port on host {host or '?'} "
            "(is that host an OVN chassis with the expected bridge mappings?)"
        )
    elif vif_type == "unbound" and server_status == "ACTIVE":
        hints.append("the port is not bound although the server is active")
    if port and port.get("status") and port.get("status") != "ACTIVE" and server_status == "ACTIVE":
        hints.append(f"port status {port.get('status')} (ovn-controller did not claim it, or it is down)")
    if parsed is not None:
        if parsed.get("dhcp_failed"):
            hints.append("the guest got no DHCP lease (OVN native DHCP did not answer)")
        if parsed.get("metadata_failed"):
            hints.append("the guest could not reach 169.254.169.254 (neutron-ovn-metadata-agent on the compute host?)")
    return hints


# --------------------------------------------------------------------------- inventory


def _norm(name):
    return str(name or "").strip().lower().rstrip(".")


def match_inventory_host(inventory_hosts, compute_host=None, hypervisor_hostname=None, hypervisor_ip=None):
    """The inventory host that runs a server, or None.

    ``inventory_hosts`` maps an inventory host name to a list of its other names and
    addresses. A match on the full name wins over a match on the short name (before the
    first dot), which wins over a match on the hypervisor's IP address.
    """
    candidates = {}
    for name, aliases in (inventory_hosts or {}).items():
        if isinstance(aliases, str):
            aliases = [aliases]
        candidates[name] = {_norm(name)} | {_norm(a) for a in aliases or [] if a}
    wanted = [_norm(n) for n in (compute_host, hypervisor_hostname) if n]
    for want in wanted:
        for name, names in candidates.items():
            if want in names:
                return name
    for want in wanted:
        short = want.split(".")[0]
        for name, names in candidates.items():
            if short in {n.split(".")[0] for n in names}:
                return name
    if hypervisor_ip:
        for name, names in candidates.items():
            if _norm(hypervisor_ip) in names:
                return name
    return None


def hypervisor_facts(hypervisor):
    """A nova hypervisor (a dict as openstacksdk's ``to_dict`` gives it) as place_targets reads it."""
    return {
        "name": hypervisor.get("name"),
        "host": (hypervisor.get("service_details") or {}).get("host"),
        "host_ip": hypervisor.get("host_ip"),
        "state": hypervisor.get("state"),
        "status": hypervisor.get("status"),
    }


def place_targets(inventory_hosts, targets, hypervisors):
    """Map each target inventory host to the nova compute host that will run its server.

    ``hypervisors`` are dicts with ``name`` (hypervisor hostname), ``host`` (the compute
    service's host), ``host_ip``, ``state`` and ``status``. Returns ``(placement, errors)``:
    ``placement`` maps a target to its hypervisor dict; ``errors`` are sentences naming each
    target that is not in the inventory, has no hypervisor, or whose hypervisor is down or
    disabled.
    """
    placement, errors = {}, []
    owners = {}
    for hyp in hypervisors:
        owner = match_inventory_host(inventory_hosts, hyp.get("host"), hyp.get("name"), hyp.get("host_ip"))
        if owner is not None:
            owners.setdefault(owner, hyp)
    for target in targets:
        if target not in (inventory_hosts or {}):
            errors.append(f"target host {target} is not one of the inventory hosts given")
            continue
        hyp = owners.get(target)
        if hyp is None:
            known = ", ".join(sorted(str(h.get("host") or h.get("name")) for h in hypervisors)) or "none"
            errors.append(
                f"no nova hypervisor matches {target} (hypervisors: {known});"
                " is nova-compute running there and was the host discovered into the cell?"
            )
            continue
        if hyp.get("state") not in (None, "up") or hyp.get("status") not in (None, "enabled"):
            errors.append(f"the hypervisor of {target} ({hyp.get('name')}) is {hyp.get('state')}/{hyp.get('status')}")
            continue
        placement[target] = hyp
    return placement, errors
