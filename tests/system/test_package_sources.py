"""Bad package sources that only a host can judge, and a host whose own sources name no archive
mirror, are refused before the host changes.

The driver refuses what needs no host before it contacts any (tests/unit/test_cli.py); these
cases need the host's distribution, architecture or apt sources, so common's preflight refuses them. Every
host's /etc and /var/lib/aptstack must be as they were."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WATCHED = "find /etc /var/lib/aptstack -xdev -newer /etc/hostname -printf '%p %T@\\n' 2>/dev/null | sort"


def run_on_hosts(inventory, command: str) -> str:
    """Run a shell command on every host of the lab; ansible's one-line-per-host output."""
    proc = subprocess.run(
        [str(BIN / "ansible"), "-i", inventory, "all", "-o", "-m", "ansible.builtin.shell", "-a", command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def snapshot(inventory) -> dict:
    """Each host's files under /etc and /var/lib/aptstack changed since the host was made, with times."""
    stdout = run_on_hosts(inventory, WATCHED)
    # One line per host: "<host> | CHANGED | rc=0 | (stdout) <its output, newlines escaped>".
    found = {}
    for line in stdout.splitlines():
        if " | rc=" in line:
            found[line.split(" | ", 1)[0]] = line.split("(stdout)", 1)[-1]
    assert len(found) == 2, stdout
    return found


def build_deb(directory: Path, arch: str) -> None:
    root = directory / ".build"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: aptstack-probe\nVersion: 1\nArchitecture: {arch}\nMaintainer: t <t@example.invalid>\n"
        "Description: a package for another architecture\n"
    )
    subprocess.run(["dpkg-deb", "--build", str(root), str(directory / f"aptstack-probe_1_{arch}.deb")], check=True,
                   capture_output=True)  # fmt: skip


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ("FOREIGN_DEBS", "aptstack-probe_1_s390x.deb is built for s390x; this host installs all, amd64 packages"),
        ([{"pocket": "backports"}], "pocket backports does not exist on Ubuntu; it has proposed"),
    ],
)
def test_host_dependent_bad_sources_change_nothing(controller_compute_lab, tmp_path, sources, expected):
    inventory = controller_compute_lab["inventory"]
    if sources == "FOREIGN_DEBS":
        build_deb(tmp_path, "s390x")
        sources = [{"debs": str(tmp_path)}]
    before = snapshot(inventory)
    proc = subprocess.run(
        [str(BIN / "aptstack"), "deploy", "-i", inventory, "-e", json.dumps({"aptstack_package_sources": sources})],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode != 0
    # One line on stderr, and no diagnostics: the cause is the input, not a host.
    refused = [line for line in proc.stderr.splitlines() if line.startswith("aptstack: a setting was refused: ")]
    assert refused and all(expected in line for line in refused), proc.stderr[-3000:]
    assert "collecting diagnostics" not in proc.stderr, proc.stderr[-3000:]
    assert snapshot(inventory) == before


def test_host_without_an_archive_mirror_is_refused(controller_compute_lab):
    """A host whose own apt sources name no mirror is refused by the same one line, and keeps its files."""
    inventory = controller_compute_lab["inventory"]
    aside = "/root/aptstack-sources-aside"
    # The two files common reads (roles/common/vars/main.yml); a lab host has the first.
    places = [("/etc/apt", "sources.list"), ("/etc/apt/sources.list.d", "ubuntu.sources")]
    away = [f"{{ ! test -e {where}/{name} || mv {where}/{name} {aside}/; }}" for where, name in places]
    back = [f"{{ ! test -e {aside}/{name} || mv {aside}/{name} {where}/; }}" for where, name in places]
    run_on_hosts(inventory, " && ".join([f"mkdir {aside}", *away]))
    try:
        before = snapshot(inventory)
        proc = subprocess.run(
            [str(BIN / "aptstack"), "deploy", "-i", inventory],
            capture_output=True,
            text=True,
            timeout=900,
        )
        after = snapshot(inventory)
    finally:
        run_on_hosts(inventory, " && ".join([*back, f"rmdir {aside}"]))
    assert proc.returncode != 0
    refused = [line for line in proc.stderr.splitlines() if line.startswith("aptstack: a setting was refused: ")]
    assert len(refused) == 2, proc.stderr[-3000:]
    assert all("No archive URI in /etc/apt/sources.list or /etc/apt/sources.list.d/ubuntu.sources" in line
               for line in refused), proc.stderr[-3000:]  # fmt: skip
    assert "collecting diagnostics" not in proc.stderr, proc.stderr[-3000:]
    assert after == before
