#!/usr/bin/python3
"""One host's state around an upgrade, as JSON on stdout.

    host_state.py SINCE_EPOCH LOG_GLOB...

units: the running services and the id of their current run (it changes when one restarts);
failed: the failed units; leftovers: configuration files a package upgrade left beside the
deployed ones (.dpkg-dist, .dpkg-new, .ucf-dist); errors: ERROR, CRITICAL and Traceback lines
of the service logs written since SINCE_EPOCH (0: none are read), and the journal's errors.
"""

import glob
import json
import os
import re
import subprocess
import sys
import time

LEFTOVER_SUFFIXES = (".dpkg-dist", ".dpkg-new", ".ucf-dist")
MARKERS = ("ERROR", "CRITICAL", "Traceback")
# Keystone logs a lookup of a name that is not an id (openstacksdk's find tries the id first) as an
# ERROR with a *NotFound exception: a 404 answered, not a fault of the service.
NOT_A_FAULT = re.compile(r"keystone\.exception\.\w+NotFound")
MAX_ERRORS = 60
SERVICE_IDENTIFIERS = re.compile(
    r"^(systemd|nova|neutron|keystone|glance|placement|apache2|libvirtd|virtqemud|qemu|ovs|ovn|mariadb|mysqld|rabbitmq)"
)


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def units():
    names = [
        line.split()[0]
        for line in run(
            "systemctl", "list-units", "--type=service", "--state=running", "--no-legend", "--plain", "--full"
        ).splitlines()
        if line.strip()
    ]
    found = {}
    if names:
        for block in run("systemctl", "show", "--property=Id,InvocationID", *names).split("\n\n"):
            fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if fields.get("Id"):
                found[fields["Id"]] = fields.get("InvocationID", "")
    return found


def failed():
    return sorted(
        line.split()[0]
        for line in run("systemctl", "list-units", "--state=failed", "--no-legend", "--plain", "--full").splitlines()
        if line.strip()
    )


def restarting():
    """Services systemd restarted on its own (a crash loop), with the package of their unit file."""
    found = {}
    names = [line.split()[0] for line in run(
        "systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain", "--full"
    ).splitlines() if line.strip()]  # fmt: skip
    if not names:
        return found
    for block in run("systemctl", "show", "--property=Id,NRestarts,FragmentPath", *names).split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("NRestarts", "0").isdigit() and int(fields["NRestarts"]) > 0:
            owner = run("dpkg-query", "--search", fields.get("FragmentPath", "")).split(":")[0].strip()
            found[fields["Id"]] = {"restarts": int(fields["NRestarts"]), "package": owner}
    return found


def leftovers():
    found = []
    for root, _dirs, files in os.walk("/etc"):
        found += [os.path.join(root, name) for name in files if name.endswith(LEFTOVER_SUFFIXES)]
    return sorted(found)


def errors(since, patterns):
    """One line per logged event. oslo.log writes every line of a traceback with the event's own
    time and process id; an event is shown by its first line and its last one with a message
    (the exception)."""
    if since <= 0:
        return [], 0
    # OpenStack logs start with the local time as "YYYY-MM-DD HH:MM:SS", which sorts as text.
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
    found = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            events = {}
            try:
                with open(path, errors="replace") as handle:
                    for line in handle:
                        if line[:19] >= stamp and any(marker in line for marker in MARKERS):
                            events.setdefault(tuple(line.split()[:3]), []).append(line.rstrip())
            except OSError:
                continue
            for lines in events.values():
                if any(NOT_A_FAULT.search(line) for line in lines):
                    continue
                found.append(f"{path}: {_event(lines)}")
    journal = run("journalctl", "--since", f"@{int(since)}", "--priority=err", "--no-pager", "--output=short-iso")
    # The services' and systemd's errors; logins' PAM noise is not about the cloud.
    journal_errors = [
        f"journal: {line}"
        for line in journal.splitlines()
        if len(line.split()) > 2 and SERVICE_IDENTIFIERS.match(line.split()[2])
    ]
    # The service logs last: the report shows the newest lines.
    found = journal_errors + found
    return found[-MAX_ERRORS:], len(found)


def _event(lines):
    """An event's first line, and its last line with a message (the exception) when there is one."""
    messages = [line for line in lines[1:] if len(line.split(None, 5)) > 5]
    if messages and messages[-1] != lines[0]:
        return f"{lines[0]} ... {messages[-1].split(None, 5)[-1]}"
    return lines[0]


def killed(since):
    """Units that did not stop on SIGTERM since then: systemd waited out their stop timeout."""
    if since <= 0:
        return []
    journal = run("journalctl", "--since", f"@{int(since)}", "--unit=*.service", "--no-pager", "--output=cat")
    return sorted({line.split(":")[0] for line in journal.splitlines() if "State 'stop-sigterm' timed out" in line})


def main(argv):
    since = float(argv[1]) if len(argv) > 1 else 0.0
    found, count = errors(since, argv[2:]) if since > 0 else ([], 0)
    json.dump(
        {
            "time": time.time(),
            "units": units(),
            "failed": failed(),
            "leftovers": leftovers(),
            "restarting": restarting(),
            "stop_timed_out": killed(since),
            "errors": found,
            "error_count": count,
        },
        sys.stdout,
        sort_keys=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
