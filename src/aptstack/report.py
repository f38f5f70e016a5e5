"""Short digest of a diagnostics report: what a reader should look at first."""

from __future__ import annotations

import re

SECTION = re.compile(r"^===== (.*) =====$")
JOURNAL = re.compile(r"^journal of (\S+) \((\S+), (\d+) restarts")
HOST = re.compile(r"^host (\S+) at ")
JOURNAL_TAIL = 8
LOG_TAIL = 3
# The section the diagnostics role writes from the versions report (roles/diagnostics/vars/main.yml).
UNDER_TEST = "packages under test"
UNDER_TEST_SHOWN = 12


def sections(text: str) -> list[tuple[str, list[str]]]:
    """Split collect.sh output into (title, lines) pairs, in order."""
    found, title, lines = [], None, []
    for line in text.splitlines():
        match = SECTION.match(line)
        if match:
            if title is not None:
                found.append((title, lines))
            title, lines = match.group(1), []
        elif title is not None:
            lines.append(line)
    if title is not None:
        found.append((title, lines))
    return found


def _meaningful(lines: list[str]) -> list[str]:
    return [line for line in lines if line.strip()]


def _down_links_with_addresses(lines: list[str]) -> list[str]:
    """Links that hold an address but are down (`ip -br addr`): an OVS bridge's tap device taken
    down keeps its address, and packets to that network fail with no other sign in the report."""
    found = []
    for line in _meaningful(lines):
        fields = line.split()
        if len(fields) < 2:  # not a link line (an error of ip itself)
            continue
        name, state, *addresses = fields
        addresses = [address for address in addresses if not address.startswith("fe80:")]
        if state == "DOWN" and addresses:
            found.append(f"  link {name.split('@')[0]} is down but holds {', '.join(addresses)}: nothing passes it")
    return found


def digest(text: str) -> list[str]:
    """Per host: failed units, units that are down or restarted (with their last journal lines),
    links that are down with an address, and the newest errors of the services' log files. Empty
    when nothing looks wrong."""
    out: list[str] = []
    host_lines: list[str] = []
    current_host = None

    def flush():
        if current_host and host_lines:
            out.append(f"{current_host}:")
            out.extend(host_lines)

    for title, lines in sections(text):
        host_match = HOST.match(title)
        if host_match:
            flush()
            current_host, host_lines = host_match.group(1), []
            continue
        if title == "failed units":
            host_lines.extend(f"  failed unit: {line.split()[0]}" for line in _meaningful(lines))
            continue
        journal = JOURNAL.match(title)
        if journal:
            unit, state, restarts = journal.groups()
            entries = [line for line in _meaningful(lines) if line.strip() != "-- No entries --"]
            # Units that never ran (masked package units, oneshots, unused sockets) are not news.
            if (state != "active" and entries) or int(restarts) > 0:
                host_lines.append(f"  {unit}: {state}, {restarts} restarts; last journal lines:")
                host_lines.extend(f"    {line}" for line in entries[-JOURNAL_TAIL:])
            continue
        if title == "addresses":
            host_lines.extend(_down_links_with_addresses(lines))
            continue
        if title.startswith("errors in "):
            host_lines.append(f"  {title}:")
            host_lines.extend(f"    {line}" for line in _meaningful(lines)[-LOG_TAIL:])
    flush()
    return out


def packages_under_test(text: str) -> list[str]:
    """Per host, the packages from a source under test (not the release, -updates or -security)
    with their versions and origins: which upload the failed run had. Hosts without one are left out."""
    out, host = [], None
    for title, lines in sections(text):
        host_match = HOST.match(title)
        if host_match:
            host = host_match.group(1)
        elif title == UNDER_TEST and (packages := [line.strip() for line in _meaningful(lines)]):
            more = len(packages) - UNDER_TEST_SHOWN
            shown = ", ".join(packages[:UNDER_TEST_SHOWN]) + (f" and {more} more" if more > 0 else "")
            out.append(f"{host}: {shown}")
    return out
