"""aptstack's autopkgtest (debian/tests/aio) passes with the real tool, and fails on a broken upload
(make autopkgtest-check; one aio lab host, about 25 min here).

A fresh lab host stands in for an autopkgtest testbed: the distribution's archive sources (release,
-updates, -security; main and universe, as a cloud image has them), `autopkgtest` installed from the
archive and a copy of this tree, nothing from PyPI. `autopkgtest TREE -- null` then runs the test on
the testbed itself, as the archive's infrastructure does inside its VMs (the null server offers no
isolation-machine capability; autopkgtest's own --ignore-restrictions is meant for this case). The
test installs its Depends from the archive, deploys the aio in local mode, verifies it and leaves
its reports in the artifacts.

Then the same testbed gets a deliberately broken nova (every binary rebuilt +local2, a syntax error
in the conductor) installed by autopkgtest's --setup-commands, as an upload under test would be:
the test must fail.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import RELEASE, ROOT, aptstack, archive_debs, lab_networks, repack

LAB = os.environ.get("AUTOPKGTEST_LAB", "apkt")
SUBNETS = lab_networks("AUTOPKGTEST")
LAB_DIR = Path("/var/lib/aptstack/labs") / LAB
KEEP = Path(os.environ.get("APTSTACK_STATE_DIR", "/var/lib/aptstack")) / "autopkgtest" / LAB
SRC = "/root/aptstack-src"
AUTOPKGTEST = f"autopkgtest --ignore-restrictions=isolation-machine {SRC}/"


def ssh(command: str, stdin: bytes | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    address = json.loads((LAB_DIR / "lab.json").read_text())["nodes"][0]["address"]
    return subprocess.run(
        [
            "ssh", "-i", str(LAB_DIR / "id_ed25519"), "-o", f"UserKnownHostsFile={LAB_DIR / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", f"root@{address}", command,
        ],
        input=stdin, capture_output=True, timeout=timeout, check=False,
    )  # fmt: skip


def run_autopkgtest(name: str, *options: str) -> tuple[int, float, Path]:
    """Run the test on the testbed; return autopkgtest's exit status, the wall time and where its
    output directory was copied to."""
    started = time.monotonic()
    done = ssh(f"{AUTOPKGTEST} {' '.join(options)} -o /root/{name} -- null > /root/{name}.log 2>&1", timeout=5400)
    wall = time.monotonic() - started
    out = KEEP / name
    subprocess.run(["rm", "-rf", str(out)], check=True)
    out.mkdir(parents=True)
    tar = ssh(f"tar -C /root -cf - {name} {name}.log")
    subprocess.run(["tar", "-xf", "-", "-C", str(KEEP)], input=tar.stdout, check=True)
    print(f"\nautopkgtest {name}: exit {done.returncode} after {wall:.0f} s; output in {out}")
    print((KEEP / f"{name}.log").read_text(errors="replace")[-3000:])
    return done.returncode, wall, out


@pytest.fixture(scope="module")
def testbed():
    """A fresh lab host prepared as an autopkgtest testbed; removed afterwards."""
    aptstack("lab", "down", "--name", LAB)
    aptstack("lab", "up", "--name", LAB, "--release", RELEASE, *SUBNETS)
    try:
        # The archive the lab host already uses (its mirror, read on the host), with the pockets
        # and components of a cloud image.
        prepare = (
            "set -e; uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list); "
            f'printf "Types: deb\\nURIs: %s\\nSuites: {RELEASE} {RELEASE}-updates {RELEASE}-security\\n'
            "Components: main universe\\n"
            'Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg\\n" "$uri" '
            "> /etc/apt/sources.list.d/ubuntu.sources; : > /etc/apt/sources.list; apt-get update -q; "
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q autopkgtest; mkdir -p {SRC}"
        )
        done = ssh(prepare)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
        tree = subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], cwd=ROOT, input=files, capture_output=True)
        assert ssh(f"tar -xf - -C {SRC}", stdin=tree.stdout).returncode == 0
        yield
    finally:
        aptstack("lab", "down", "--name", LAB)


@pytest.fixture(scope="module")
def passed_run(testbed):
    return run_autopkgtest("pass")


def test_the_autopkgtest_passes_on_archive_packages(passed_run):
    status, wall, out = passed_run
    assert status == 0, f"autopkgtest exit {status}"
    assert "aio                  PASS" in (out / "summary").read_text()
    artifacts = out / "artifacts" / "aio"  # autopkgtest keeps each test's artifacts apart
    assert "exit 0" in (artifacts / "steps.txt").read_text()
    assert (artifacts / "verify.xml").is_file()
    [report] = (artifacts / "versions").glob("*.json")
    packages = {item["package"]: item for item in json.loads(report.read_text())["packages"]}
    assert packages["nova-compute"]["origin"] in {"release", "updates", "security"}
    # Nothing came from PyPI: the tools the test ran are the distribution's.
    tools = (artifacts / "tools.txt").read_text()
    assert "ansible-core\t" in tools and "python3-openstacksdk\t" in tools
    print(f"passed in {wall:.0f} s; artifacts: {sorted(p.name for p in artifacts.iterdir())}")


def test_a_broken_upload_fails_the_autopkgtest(passed_run, tmp_path):
    [report] = (passed_run[2] / "artifacts" / "aio" / "versions").glob("*.json")
    broken = repack(
        tmp_path / "broken",
        archive_debs(json.loads(report.read_text()), "nova"),
        "--suffix", "+local2", "--break", "usr/lib/python3/dist-packages/nova/conductor/manager.py",
    )  # fmt: skip
    debs = subprocess.run(["tar", "-C", str(broken), "-cf", "-", "."], capture_output=True, check=True).stdout
    # Not /root/broken: that is the run's output directory, which autopkgtest wants empty.
    assert ssh("rm -rf /root/debs && mkdir /root/debs && tar -xf - -C /root/debs", stdin=debs).returncode == 0
    setup = "--setup-commands='DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/debs/*.deb'"
    status, wall, out = run_autopkgtest("broken", setup)
    assert status == 4, f"autopkgtest exit {status} (4: a test failed)"
    assert "aio                  FAIL" in (out / "summary").read_text()
    assert "nova-conductor" in (out / "log").read_text(errors="replace")
    print(f"failed as it should in {wall:.0f} s")
