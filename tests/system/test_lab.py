"""Real lab hosts: build a controller-compute lab, use it, take it down, find nothing left."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aptstack import host

from .conftest import aptstack

BIN = Path(sys.executable).parent


def ansible(inventory, pattern, module, args=""):
    argv = [str(BIN / "ansible"), "-i", inventory, pattern, "-m", module, "-o"]
    if args:
        argv += ["-a", args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def test_hosts_answer_over_ssh(controller_compute_lab):
    result = ansible(controller_compute_lab["inventory"], "all", "ansible.builtin.ping")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2


def test_groups(controller_compute_lab):
    groups = {h["name"]: h["groups"] for h in controller_compute_lab["hosts"]}
    assert groups == {"st-cc-controller": ["controller"], "st-cc-compute1": ["compute"]}


def test_systemd_is_running_everywhere(controller_compute_lab):
    result = ansible(
        controller_compute_lab["inventory"], "all", "ansible.builtin.command", "systemctl is-system-running"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("running") == 2


def test_hosts_reach_each_other_on_both_networks(controller_compute_lab):
    inventory = controller_compute_lab["inventory"]
    lab_vars = host_vars(inventory)
    for name, peer in (("st-cc-controller", "st-cc-compute1"), ("st-cc-compute1", "st-cc-controller")):
        for key in ("aptstack_management_address", "aptstack_tunnel_address"):
            target = lab_vars[peer][key]
            result = ansible(inventory, name, "ansible.builtin.command", f"ping -c1 -W3 {target}")
            assert result.returncode == 0, f"{name} cannot reach {peer} at {target}: {result.stdout}"


def test_hosts_reach_the_package_archive(controller_compute_lab):
    result = ansible(controller_compute_lab["inventory"], "all", "ansible.builtin.command", "apt-get -q update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Err:" not in result.stdout


def test_second_up_changes_nothing(controller_compute_lab):
    result = aptstack("lab", "up", "--name", "st-cc", "--topology", "controller-compute", "--json")
    assert "already running" in result.stderr
    assert json.loads(result.stdout) == controller_compute_lab


def test_name_taken_by_a_different_lab_is_refused(controller_compute_lab):
    result = aptstack("lab", "up", "--name", "st-cc", "--topology", "aio", check=False)
    assert result.returncode == 2
    assert "already exists" in result.stderr


def test_rebooted_host_comes_back_with_lab_up(controller_compute_lab):
    inventory = controller_compute_lab["inventory"]
    ansible(inventory, "st-cc-compute1", "ansible.builtin.command", "systemctl reboot")
    deadline = time.monotonic() + 60
    while "stopped" not in aptstack("lab", "list").stdout:
        assert time.monotonic() < deadline, "the rebooted host did not stop"
        time.sleep(1)
    result = aptstack("lab", "up", "--name", "st-cc", "--topology", "controller-compute")
    assert "already running" not in result.stderr
    assert "partial" not in aptstack("lab", "list").stdout
    again = ansible(inventory, "all", "ansible.builtin.ping")
    assert again.stdout.count("SUCCESS") == 2, again.stdout


def test_routed_subnet_is_refused_before_anything_is_made():
    routed = next(str(n) for n in host.routed_networks() if n.prefixlen <= 26)
    result = aptstack("lab", "up", "--name", "st-routed", "--subnet", routed, check=False)
    assert result.returncode == 2, result.stderr
    assert "already routed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (host.state_dir() / "labs" / "st-routed").exists()


def test_down_leaves_nothing_behind():
    name = "st-down"
    lab = json.loads(aptstack("lab", "up", "--name", name, "--json").stdout)
    state = json.loads((host.state_dir() / "labs" / name / "lab.json").read_text())
    lab_id, subnet = state["lab_id"], state["subnet"]
    pids = [n["pid"] for n in state["nodes"]]
    assert lab["hosts"][0]["name"] == "st-down-aio"
    aptstack("lab", "down", "--name", name)

    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"asl{lab_id}-" not in links
    for table in ("nat", "filter"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
        assert f"aptstack:{name}" not in rules and subnet not in rules
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "State:\tZ" in status.read_text(), f"nspawn {pid} still runs"
    assert name not in Path("/proc/self/mountinfo").read_text()
    assert not (host.state_dir() / "labs" / name).exists()
    assert name not in aptstack("lab", "list").stdout


def test_not_root_is_refused():
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         str(BIN / "python"), "-m", "aptstack", "lab", "up", "--name", "st-user"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "needs root" in result.stderr


def test_missing_host_tool_is_refused(tmp_path):
    # A PATH without debootstrap: the check must name it and the package to install.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in host.HOST_TOOLS:
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found and tool != "debootstrap":
            (bindir / tool).symlink_to(found)
    result = subprocess.run(
        [str(BIN / "python"), "-m", "aptstack", "lab", "up", "--name", "st-tools"],
        capture_output=True, text=True, env={"PATH": str(bindir)},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "debootstrap" in result.stderr


def host_vars(inventory):
    import yaml

    data = yaml.safe_load(Path(inventory).read_text())["all"]["children"]
    found = {}
    for group in data.values():
        found.update(group["hosts"])
    return found


@pytest.fixture(autouse=True, scope="module")
def _no_stale_labs():
    for name in ("st-down", "st-routed", "st-tools", "st-user"):
        aptstack("lab", "down", "--name", name)
