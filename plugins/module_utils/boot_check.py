# Copyright: aptstack developers
# Apache License 2.0
"""Decision logic of the boot-and-ping check, free of openstacksdk and Ansible.

Used by the modules ``guest_image``, ``boot_check`` and ``wait_ping``. Everything here
works on plain values (strings, dicts, lists) so that it can be unit tested without a cloud.
"""

from __future__ import annotations

import re

MARKER_PREFIX = "APTSTACK-GUEST"

# Tag put on every Neutron resource of a run, and metadata key put on its server.
RUN_TAG_PREFIX = "aptstack-run="
RUN_METADATA_KEY = "aptstack_run"

# Glance property holding the sha256 of the uploaded file, and the one naming the guest.
SHA256_PROPERTY = "aptstack_sha256"
GUEST_PROPERTY = "aptstack_guest"

_RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


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


# --------------------------------------------------------------------------- console


def parse_console(text, prefix=MARKER_PREFIX):
    """Read the test guest's marker lines from a console log.

    Returns a dict: ``ready``, ``dhcp_address`` (``ip/prefix``), ``dhcp_ip``, ``iface``,
    ``dhcp_failed``, ``dhcp_failed_detail`` (what the guest said about its NIC),
    ``metadata_uuid``, ``metadata_failed``, ``uptimes`` (the guest's uptime in seconds when
    it printed each kind of marker: ``dhcp-address``, ``metadata-uuid``, ``ready``...) and
    ``markers`` (the marker lines in order). When a marker appears more than once (a guest
    that rebooted), the last one counts.
    """
    text = (text or "").replace("\r", "")
    esc = re.escape(prefix)
    result = {
        "ready": False,
        "dhcp_address": None,
        "dhcp_ip": None,
        "iface": None,
        "dhcp_failed": False,
        "dhcp_failed_detail": None,
        "metadata_uuid": None,
        "metadata_failed": False,
        "markers": [],
        "uptimes": {},
    }
    for match in re.finditer(esc + r" [^\n]*", text):
        line = match.group(0).rstrip()
        result["markers"].append(line)
        body = line[len(prefix) + 1 :].strip()
        uptime = re.search(r"\s+uptime=(\d+(?:\.\d+)?)$", body)
        if uptime:
            body = body[: uptime.start()]
            kind = re.match(r"[a-z-]*", body).group(0)
            result["uptimes"][kind] = float(uptime.group(1))
        dhcp = re.match(r"dhcp-address=(" + _IPV4 + r")/(\d{1,2})(?:\s+iface=(\S+))?", body)
        if dhcp:
            result["dhcp_address"] = f"{dhcp.group(1)}/{dhcp.group(2)}"
            result["dhcp_ip"] = dhcp.group(1)
            result["iface"] = dhcp.group(3)
            result["dhcp_failed"] = False
            continue
        if body.startswith("dhcp-failed"):
            result["dhcp_failed"] = True
            result["dhcp_failed_detail"] = body[len("dhcp-failed") :].strip() or None
            continue
        meta = re.match(r"metadata-uuid=(" + _UUID + r")", body)
        if meta:
            result["metadata_uuid"] = meta.group(1).lower()
            result["metadata_failed"] = False
            continue
        if body.startswith("metadata-failed"):
            result["metadata_failed"] = True
            continue
        if body == "ready" or body.startswith("ready "):
            result["ready"] = True
    return result


def console_done(parsed):
    """Whether waiting for the console can stop: the guest printed ``ready``."""
    return bool(parsed.get("ready"))


def console_problems(parsed, fixed_ip, server_id):
    """What the console says is wrong, as a list of sentences (empty when all is well).

    Checks that the guest finished booting, that its DHCP address is the server's fixed
    address, and that the instance uuid it read from the metadata service is the server's.
    """
    problems = []
    if not parsed.get("ready"):
        problems.append(f"console: the guest never printed '{MARKER_PREFIX} ready'")
    if parsed.get("dhcp_failed"):
        detail = f"; guest NIC: {parsed['dhcp_failed_detail']}" if parsed.get("dhcp_failed_detail") else ""
        problems.append(f"DHCP: the guest got no lease (dhcp-failed{detail})")
    elif not parsed.get("dhcp_ip"):
        problems.append("DHCP: no dhcp-address marker on the console")
    elif fixed_ip and parsed["dhcp_ip"] != fixed_ip:
        problems.append(f"DHCP: the guest got {parsed['dhcp_ip']}, but the server's fixed address is {fixed_ip}")
    if parsed.get("metadata_failed"):
        problems.append("metadata: the guest could not read the metadata service (metadata-failed)")
    elif not parsed.get("metadata_uuid"):
        if parsed.get("ready") or parsed.get("dhcp_ip"):
            problems.append("metadata: no metadata-uuid marker on the console")
    elif server_id and parsed["metadata_uuid"] != str(server_id).lower():
        problems.append(
            f"metadata: the guest read instance uuid {parsed['metadata_uuid']}, but the server is {server_id}"
        )
    return problems


def tail(text, lines=40):
    """The last ``lines`` non-empty lines of a console log, carriage returns removed."""
    if not text:
        return []
    rows = [row.rstrip() for row in text.replace("\r", "").split("\n")]
    rows = [row for row in rows if row.strip()]
    return rows[-lines:] if lines > 0 else []


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


# --------------------------------------------------------------------------- guest images


def image_roles(name):
    """Glance names and formats of the three guest images for a guest called ``name``."""
    return {
        "kernel": {"name": f"{name}-kernel", "disk_format": "aki", "container_format": "aki"},
        "ramdisk": {"name": f"{name}-ramdisk", "disk_format": "ari", "container_format": "ari"},
        "disk": {"name": name, "disk_format": "ami", "container_format": "ami"},
    }


def read_manifest(manifest):
    """Pick file names, sha256 sums and the command line out of the test_guest manifest.

    Returns ``(files, command_line)`` where ``files`` maps kernel/ramdisk/disk to a dict
    with ``file`` and ``sha256``. Raises ValueError naming what is missing.
    """
    files = {}
    for role in ("kernel", "ramdisk", "disk"):
        entry = manifest.get(role) if isinstance(manifest, dict) else None
        if not isinstance(entry, dict) or not entry.get("file") or not entry.get("sha256"):
            raise ValueError(f"the manifest has no {role} file with a sha256")
        files[role] = {"file": entry["file"], "sha256": str(entry["sha256"]).lower()}
    command_line = manifest.get("command_line")
    return files, command_line


def _created_key(image):
    return str(image.get("created_at") or "")


def pick_image(images, name, sha256):
    """Choose which of the existing images called ``name`` to keep, and which to delete.

    ``images`` are dicts with id, name, status, created_at and ``properties`` (a dict).
    Only images this module made (with the sha256 property) are considered. The newest
    active image with the wanted sha256 is kept; every other one of the same name is
    deleted. Returns ``(keep_id or None, [ids to delete])``.
    """
    ours = [img for img in images if img.get("name") == name and SHA256_PROPERTY in (img.get("properties") or {})]
    good = [
        img
        for img in ours
        if img.get("status") == "active" and str(img["properties"][SHA256_PROPERTY]).lower() == sha256.lower()
    ]
    good.sort(key=_created_key, reverse=True)
    keep = good[0]["id"] if good else None
    delete = [img["id"] for img in ours if img["id"] != keep]
    return keep, delete


def disk_property_changes(properties, kernel_id, ramdisk_id, command_line):
    """Properties of the disk image that must change so it boots the given kernel/ramdisk."""
    want = {"kernel_id": kernel_id, "ramdisk_id": ramdisk_id, "os_command_line": command_line}
    properties = properties or {}
    return {key: value for key, value in want.items() if value is not None and properties.get(key) != value}


# --------------------------------------------------------------------------- ping


def ping_argv(address, namespace=None, wait_seconds=1, ping="ping"):
    """The command that sends one echo request, optionally inside a network namespace."""
    argv = [ping, "-c", "1", "-W", str(max(1, int(wait_seconds))), "-q", address]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    return argv


def ping_failure_message(address, namespace, host, timeout, attempts, namespace_seen=True, last_error=None):
    """The message of a ping that never got an answer."""
    where = f" in namespace {namespace}" if namespace else ""
    msg = f"No answer from {address}{where} on host {host} within {timeout} s ({attempts} attempts)"
    if namespace and not namespace_seen:
        msg += (
            f"; the namespace {namespace} never appeared on {host}"
            " (neutron-ovn-metadata-agent creates it when a port of that network is bound there)"
        )
    elif last_error:
        msg += f"; last error: {last_error}"
    return msg


def round_seconds(value):
    """Seconds rounded for reports (one decimal), None stays None."""
    return None if value is None else round(float(value), 1)


# --------------------------------------------------------------------------- report


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


def _since(later, earlier):
    return None if later is None or earlier is None else round_seconds(float(later) - float(earlier))


def check_report(servers, fixed_pings, floating_pings=None, floating_host=None):
    """Per-server results of a boot check and everything that failed, as sentences.

    ``servers`` are the module's ``servers``; ``fixed_pings`` and ``floating_pings`` the
    wait_ping results in the same order (a skipped or missing ping counts as not answered).
    ``floating_host`` is the inventory host the floating addresses were pinged from; without
    it the floating addresses are not expected to answer.
    Returns ``{"servers": [...], "failures": [...], "timings": {...}}``; each failure names
    its server's host, and ``timings`` holds the slowest server's figure of each per-server
    timing (None when any server lacks it: that server never got there).
    """
    report, failures = [], []
    floating_pings = floating_pings or []
    for index, server in enumerate(servers or []):
        fixed = fixed_pings[index] if index < len(fixed_pings or []) else {}
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
