# Copyright: aptstack developers
# Apache License 2.0
"""What the test guest prints on its console: its marker lines, parsed, and what they say
about the run (used by the boot_check module). Plain values only, unit tested."""

from __future__ import annotations

import re

MARKER_PREFIX = "APTSTACK-GUEST"

_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


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


def parse_volume_markers(text, prefix=MARKER_PREFIX):
    """What the test guest said about its disks (the volume check reads it).

    Returns a dict: ``disks`` (name -> bytes, from the last ``disks=`` marker the guest printed
    at boot), and in the order the guest printed them, ``attached`` (name -> bytes of each disk
    that appeared later), ``detached`` (names of disks that went away), ``written`` and ``read``
    (name -> the volume token the guest wrote to and read back from the disk's first sector)
    and ``write_failed`` (names).
    """
    result = {"disks": {}, "attached": {}, "detached": [], "written": {}, "read": {}, "write_failed": []}
    for line in parse_console(text, prefix)["markers"]:
        body = re.sub(r"\s+uptime=\d+(?:\.\d+)?$", "", line[len(prefix) + 1 :].strip())
        match = re.fullmatch(r"disks=(\S+)", body)
        if match:
            result["disks"] = {
                name: int(size)
                for name, _sep, size in (entry.partition(":") for entry in match[1].split(","))
                if size.isdigit()
            }
            continue
        match = re.fullmatch(r"volume-attached=(\w+) size=(\d+)", body)
        if match:
            result["attached"][match[1]] = int(match[2])
            continue
        match = re.fullmatch(r"volume-detached=(\w+)", body)
        if match:
            result["detached"].append(match[1])
            continue
        match = re.fullmatch(r"volume-(write|read)=(\w+) token=(\S+)", body)
        if match:
            result["written" if match[1] == "write" else "read"][match[2]] = match[3]
            continue
        match = re.fullmatch(r"volume-write-failed=(\w+)", body)
        if match:
            result["write_failed"].append(match[1])
    return result


def volume_problems(before, after, size_bytes, token):
    """What the console says about an attached volume, as sentences (empty when all is well).

    ``before`` and ``after`` are parse_volume_markers() results of the console before the attach
    and once the guest has answered. The guest must report one new disk of the volume's size, write
    the token to it and read the same token back.
    """
    new = {name: size for name, size in after["attached"].items() if name not in before["attached"]}
    if not new:
        return ["the guest reported no new disk (no volume-attached marker)"]
    name, size = next(iter(new.items()))
    problems = []
    if size != size_bytes:
        problems.append(f"the guest's new disk {name} has {size} bytes, the volume {size_bytes}")
    if name in after["write_failed"]:
        problems.append(f"the guest could not write to {name}")
    elif after["written"].get(name) != token:
        problems.append(f"the guest did not write the volume token to {name}")
    elif after["read"].get(name) != token:
        problems.append(
            f"the guest read {after['read'].get(name, 'nothing')!r} back from {name}, not the token it wrote"
        )
    return problems
