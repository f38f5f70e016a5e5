"""A real host reused: deploy, verify, tear down, check that nothing is left, deploy and verify again.

Takes a lab of its own and about half an hour, so `make test` does not run it; `make reuse-test`
does, with the lab's name and networks in REUSE_LAB, REUSE_SUBNET and REUSE_TUNNEL_SUBNET."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
# Only when asked for: a plain `pytest` must not take a lab name someone else may be using.
LAB = os.environ.get("REUSE_LAB")
pytestmark = pytest.mark.skipif(not LAB, reason="set REUSE_LAB (make reuse-test) to run it")
SUBNET = os.environ.get("REUSE_SUBNET")
TUNNEL_SUBNET = os.environ.get("REUSE_TUNNEL_SUBNET")

# What a host shows of itself: installed packages, unit files, active units, links, listening ports
# and the entries of the directories services keep their configuration, state and logs in.
ROOT = Path(__file__).resolve().parents[2]
# Dependencies the teardown keeps on purpose (sudo: Ansible may need it to become root).
KEPT = set(yaml.safe_load((ROOT / "roles/teardown/defaults/main.yml").read_text())["teardown_keep_packages"])

SNAPSHOT = r"""
set -u
echo "== packages"; dpkg-query -W -f '${db:Status-Status} ${Package}\n' | awk '$1 == "installed" {print $2}'
echo "== unit files"; systemctl list-unit-files --no-legend --plain | awk '{print $1}'
# Without the units of root's logins: this snapshot's own SSH session and Ansible's last one
# (systemd keeps user@0 for 10 s after a logout) come and go with logins, not with the deploy.
echo "== active units"; systemctl list-units --no-legend --plain --state=active,failed,activating | awk '{print $1}' \
  | grep -Ev '^(user@[0-9]+\.service|user-runtime-dir@[0-9]+\.service|user-[0-9]+\.slice)$' \
  | grep -Ev '^(run-user-[0-9]+\.mount|session-[0-9]+\.scope)$'
echo "== links"; ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1
echo "== addresses"; ip -o addr show | awk '{print $2 " " $4}'
echo "== ports"; ss -Hltnu | awk '{print $1 " " $5}'
for dir in /etc /var/lib /var/log /var/cache /etc/apt/sources.list.d /etc/apt/preferences.d \
    /etc/systemd/network /etc/systemd/system; do
  echo "== $dir"; ls -A "$dir"
done
kept=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances {kept} 2>/dev/null | grep -v '^ ' | tr -d '<>' | sort -u)
echo "== kept closure"; echo "$kept"
echo "== kept files"; dpkg-query -L $kept 2>/dev/null || true
"""


# Each command's whole output is kept here: a failed teardown's apt output is long.
LOG_DIR = Path(os.environ.get("REUSE_LOG_DIR", "/tmp")) / f"aptstack-reuse-{LAB}"


def aptstack(*args, check=True, timeout=3600):
    proc = subprocess.run([str(BIN / "aptstack"), *args], capture_output=True, text=True, timeout=timeout)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{len(list(LOG_DIR.iterdir())):02d}-{args[0]}.log"
    log.write_text(proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"aptstack {' '.join(args)} failed ({proc.returncode}), output in {log}:\n{proc.stderr[-2000:]}"
        )
    return proc


def snapshot(lab: dict, host: dict) -> dict[str, set[str]]:
    directory = Path(lab["inventory"]).parent
    proc = subprocess.run(
        [
            "ssh", "-i", str(directory / "id_ed25519"), "-o", f"UserKnownHostsFile={directory / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{host['address']}", "sh", "-s",
        ],
        input=SNAPSHOT.replace("{kept}", " ".join(sorted(KEPT))), capture_output=True, text=True, timeout=120,
        check=True,
    )  # fmt: skip
    sections, current = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith("== "):
            current = sections.setdefault(line[3:], set())
        elif line.strip() and current is not None:
            current.add(line.strip())
    return sections


def differences(before: dict, after: dict) -> dict[str, dict[str, list[str]]]:
    found = {}
    for section in before.keys() | after.keys():
        added = sorted(after.get(section, set()) - before.get(section, set()))
        removed = sorted(before.get(section, set()) - after.get(section, set()))
        if added or removed:
            found[section] = {"left": added, "gone": removed}
    return found


def without_kept(before: dict, after: dict) -> dict:
    """The state after the teardown without what the kept packages brought (them and what they depend
    on, and their files among the directory entries), unless the host had them before."""
    kept_files = after.get("kept files", set()) - before.get("kept files", set())
    trimmed = {section: set(entries) for section, entries in after.items() if not section.startswith("kept ")}
    trimmed["packages"] -= after.get("kept closure", set()) - before["packages"]
    # Unit files the kept packages ship (sudo.service).
    kept_units = {Path(path).name for path in kept_files if "/systemd/system/" in path}
    trimmed["unit files"] -= kept_units - before.get("unit files", set())
    for section, entries in trimmed.items():
        if section.startswith("/"):
            # A directory the kept packages share with the host's own (/etc/pam.d) is the host's.
            trimmed[section] = {
                entry
                for entry in entries
                if f"{section}/{entry}" not in kept_files or entry in before.get(section, set())
            }
    return {**trimmed, **{section: before.get(section, set()) for section in ("kept files", "kept closure")}}


@pytest.fixture(scope="module")
def lab():
    assert os.geteuid() == 0, "builds a real lab: run as root"
    aptstack("lab", "down", "--name", LAB)
    networks = [
        *(["--subnet", SUBNET] if SUBNET else []),
        *(["--tunnel-subnet", TUNNEL_SUBNET] if TUNNEL_SUBNET else []),
    ]
    the_lab = json.loads(aptstack("lab", "up", "--name", LAB, "--json", *networks).stdout)
    try:
        yield the_lab
    finally:
        aptstack("lab", "down", "--name", LAB, check=False)


def test_teardown_leaves_the_host_as_it_was_and_it_deploys_again(lab):
    inventory = lab["inventory"]
    before = {host["name"]: snapshot(lab, host) for host in lab["hosts"]}
    aptstack("deploy", "-i", inventory)
    aptstack("verify", "-i", inventory)
    deployed = {host["name"]: snapshot(lab, host) for host in lab["hosts"]}
    # The check of the check: a deploy shows up in every section this test compares.
    for name, state in deployed.items():
        assert {"packages", "ports", "/var/lib", "unit files"} <= differences(before[name], state).keys()

    aptstack("teardown", "-i", inventory, "--secrets")
    for host in lab["hosts"]:
        left = differences(before[host["name"]], without_kept(before[host["name"]], snapshot(lab, host)))
        # The whole difference, for when pytest's shortened assertion hides most of it.
        (LOG_DIR / f"left-{host['name']}.json").write_text(json.dumps(left, indent=1))
        assert left == {}, f"whole difference in {LOG_DIR}/left-{host['name']}.json"
    assert not any((Path(inventory).parent / name).exists() for name in ("aptstack-secrets.yml", "clouds.yaml"))

    aptstack("deploy", "-i", inventory)
    result = json.loads(aptstack("verify", "-i", inventory, "--json").stdout)
    assert result["result"] == "passed"
