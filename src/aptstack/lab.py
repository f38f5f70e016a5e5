"""Lab hosts: systemd-nspawn containers on a host bridge, each a full systemd host.

A lab is a set of hosts (aio: one; controller-compute: one controller and N
computes), a management bridge with NAT to the outside, and a tunnel bridge
for overlay traffic between hosts.  Its state lives in
``<state dir>/labs/<name>/lab.json``; everything it creates on the host is
named after the lab's numeric id so that teardown can find and remove it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from . import host, rootfs, upgrade
from .errors import AptstackError, UsageError
from .releases import get_release

TOPOLOGIES = ("aio", "controller-compute")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
# Lab networks are carved from this range; /24 each, management and tunnel.
DEFAULT_POOL = ipaddress.ip_network("10.213.0.0/16")
FIRST_HOST_OFFSET = 10
BOOT_TIMEOUT = 120
SSH_TIMEOUT = 60
# A clean halt waits for every unit to stop; an OpenStack daemon can take its whole stop timeout (90 s).
HALT_TIMEOUT = 180


@dataclass
class Node:
    hostname: str
    address: str
    tunnel_address: str
    groups: list[str]
    index: int
    pid: int | None = None

    def mgmt_veth(self, lab_id: int) -> str:
        return f"asl{lab_id}-{self.index}m"

    def tunnel_veth(self, lab_id: int) -> str:
        return f"asl{lab_id}-{self.index}t"


@dataclass
class Lab:
    name: str
    topology: str
    release: str
    computes: int
    lab_id: int
    subnet: str
    tunnel_subnet: str
    nodes: list[Node] = field(default_factory=list)
    # The snapshot whose root filesystems are the read-only lower layers of this lab's hosts.
    snapshot: str | None = None

    @property
    def mgmt_bridge(self) -> str:
        return f"asl{self.lab_id}-mgmt"

    @property
    def tunnel_bridge(self) -> str:
        return f"asl{self.lab_id}-tun"

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def nat_rule(self) -> list[str]:
        return [
            "POSTROUTING", "-s", self.subnet, "!", "-o", self.mgmt_bridge,
            "-j", "MASQUERADE", "-m", "comment", "--comment", f"aptstack:{self.name}",
        ]  # fmt: skip

    @property
    def forward_rules(self) -> list[list[str]]:
        tag = ["-m", "comment", "--comment", f"aptstack:{self.name}"]
        return [
            ["FORWARD", "-i", self.mgmt_bridge, "-j", "ACCEPT", *tag],
            ["FORWARD", "-o", self.mgmt_bridge, "-j", "ACCEPT", *tag],
        ]

    def directory(self) -> Path:
        return labs_dir() / self.name

    def node_root(self, node: Node) -> Path:
        return self.directory() / "hosts" / node.hostname / "rootfs"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Lab:
        # Keys this version does not know (a lab.json written by a newer aptstack) are left out:
        # listing the labs, to find a free subnet, must not fail on them.
        known = {f.name for f in fields(cls)} - {"nodes"}
        node_known = {f.name for f in fields(Node)}
        nodes = [Node(**{k: v for k, v in n.items() if k in node_known}) for n in data["nodes"]]
        return cls(nodes=nodes, **{k: v for k, v in data.items() if k in known})

    def summary(self) -> dict:
        return {
            "name": self.name,
            "inventory": str(self.directory() / "inventory.yml"),
            "hosts": [{"name": n.hostname, "address": n.address, "groups": n.groups} for n in self.nodes],
        }


def labs_dir() -> Path:
    return host.state_dir() / "labs"


def snapshots_dir() -> Path:
    return host.state_dir() / "snapshots"


def snapshot_root(snapshot: str, hostname: str) -> Path:
    """A host's root filesystem kept in a snapshot (the lower layer of the hosts restored from it)."""
    return snapshots_dir() / snapshot / "hosts" / hostname / "rootfs"


# ---------------------------------------------------------------- planning


def validate_request(name: str, topology: str, release: str, computes: int) -> None:
    if not NAME_PATTERN.match(name or ""):
        raise UsageError(f"invalid lab name {name!r}: use 1-20 characters a-z, 0-9 and '-', starting with a letter")
    if topology not in TOPOLOGIES:
        raise UsageError(f"unknown topology {topology!r}; choose one of: {', '.join(TOPOLOGIES)}")
    get_release(release)
    if topology == "aio" and computes not in (0, 1):
        raise UsageError("--computes applies to the controller-compute topology only")
    if topology == "controller-compute" and not 1 <= computes <= 8:
        raise UsageError(f"--computes must be between 1 and 8, not {computes}")


def plan_nodes(name: str, topology: str, computes: int, subnet: str, tunnel_subnet: str):
    mgmt = list(ipaddress.ip_network(subnet).hosts())
    tun = list(ipaddress.ip_network(tunnel_subnet).hosts())
    if topology == "aio":
        roles = [("aio", ["controller", "compute"])]
    else:
        roles = [("controller", ["controller"])]
        roles += [(f"compute{i}", ["compute"]) for i in range(1, computes + 1)]
    nodes = []
    for index, (suffix, groups) in enumerate(roles):
        offset = FIRST_HOST_OFFSET + index - 1  # hosts() starts at .1
        nodes.append(
            Node(
                hostname=f"{name}-{suffix}",
                address=str(mgmt[offset]),
                tunnel_address=str(tun[offset]),
                groups=groups,
                index=index,
            )
        )
    return nodes


def parse_subnet(text: str, option: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise UsageError(f"{option} {text!r} is not a network: {exc}") from None
    if network.version != 4 or not 16 <= network.prefixlen <= 26:
        raise UsageError(f"{option} {text!r}: use an IPv4 network between /16 and /26")
    return network


def check_subnet_free(network, option: str, routed, other_labs) -> None:
    for route in routed:
        if network.overlaps(route):
            raise UsageError(f"{option} {network} overlaps {route}, already routed on this host")
    for lab in other_labs:
        for used in (lab.subnet, lab.tunnel_subnet):
            if network.overlaps(ipaddress.ip_network(used)):
                raise UsageError(f"{option} {network} is already used by lab {lab.name!r}")


def allocate_subnets(count: int, routed, other_labs, pool=DEFAULT_POOL):
    """The first `count` /24 networks of pool that collide with nothing."""
    taken = list(routed)
    for lab in other_labs:
        taken += [ipaddress.ip_network(lab.subnet), ipaddress.ip_network(lab.tunnel_subnet)]
    found = []
    if count == 0:
        return found
    for candidate in pool.subnets(new_prefix=24):
        if not any(candidate.overlaps(t) for t in taken):
            found.append(candidate)
            taken.append(candidate)
            if len(found) == count:
                return found
    raise UsageError(f"no free /24 left in {pool}; pass --subnet and --tunnel-subnet")


def render_inventory(lab: Lab) -> dict:
    directory = lab.directory()
    hostvars = {
        n.hostname: {
            "ansible_host": n.address,
            "aptstack_management_address": n.address,
            "aptstack_tunnel_address": n.tunnel_address,
            "aptstack_tunnel_interface": "tun0",
        }
        for n in lab.nodes
    }
    groups = {}
    for group in ("controller", "compute"):
        members = {n.hostname: hostvars[n.hostname] for n in lab.nodes if group in n.groups}
        groups[group] = {"hosts": members}
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_ssh_private_key_file": str(directory / "id_ed25519"),
                "ansible_ssh_common_args": (
                    f"-o UserKnownHostsFile={directory / 'known_hosts'} -o StrictHostKeyChecking=yes"
                ),
                "aptstack_release": lab.release,
                "aptstack_lab_name": lab.name,
                "aptstack_management_subnet": lab.subnet,
                "aptstack_tunnel_subnet": lab.tunnel_subnet,
                "aptstack_secrets_file": str(directory / "secrets.yml"),
            },
            "children": groups,
        }
    }


# ---------------------------------------------------------------- state


def load(name: str) -> Lab | None:
    path = labs_dir() / name / "lab.json"
    if not path.exists():
        return None
    return Lab.from_json(json.loads(path.read_text()))


def all_labs() -> list[Lab]:
    if not labs_dir().is_dir():
        return []
    labs = [load(p.name) for p in sorted(labs_dir().iterdir()) if (p / "lab.json").exists()]
    return [lab for lab in labs if lab]


def snapshot_labs() -> list[Lab]:
    """The labs the snapshots were taken of, as they recorded them (their addresses stay theirs)."""
    found = []
    for path in sorted(snapshots_dir().glob("*/snapshot.json")):
        if path.parent.name.startswith("."):  # still being made
            continue
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            found.append(Lab.from_json(json.loads(path.read_text())["lab"]))
    return found


def save(lab: Lab) -> None:
    directory = lab.directory()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "lab.json.tmp"
    tmp.write_text(json.dumps(lab.to_json(), indent=2) + "\n")
    tmp.rename(directory / "lab.json")


def nspawn_alive(pid: int | None, root: Path) -> bool:
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"systemd-nspawn" in cmdline[0] and str(root).encode() in cmdline


def container_leader(nspawn_pid: int) -> int | None:
    """The container's PID 1, seen from the host: the nspawn process's child."""
    for task in Path(f"/proc/{nspawn_pid}/task").glob("*/children"):
        children = task.read_text().split()
        if children:
            return int(children[0])
    return None


def node_memory(lab: Lab, node: Node) -> int | None:
    """Memory the host's processes use (sum of their proportional set sizes), in bytes; None when stopped."""
    by_program = node_memory_by_program(lab, node)
    return None if by_program is None else sum(by_program.values())


def node_memory_by_program(lab: Lab, node: Node) -> dict[str, int] | None:
    """The host's proportional set size per program (process_label), in bytes; None when stopped."""
    leader = container_leader(node.pid) if node_state(lab, node) == "running" else None
    if leader is None:
        return None
    try:
        namespace = os.readlink(f"/proc/{leader}/ns/pid")
    except OSError:
        return None
    totals: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "ns/pid") != namespace:
                continue
            rollup = (proc / "smaps_rollup").read_text()
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            # The process ended meanwhile, or is a kernel thread without a memory map.
            continue
        pss = next((line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")), "0")
        label = process_label([arg.decode(errors="replace") for arg in argv if arg])
        totals[label] = totals.get(label, 0) + int(pss) * 1024
    return totals


def process_label(argv: list[str]) -> str:
    """A process's program as a reader knows it: the script an interpreter runs, a privsep helper's
    context, or the program's own name (Apache's WSGI daemons name themselves after their site)."""
    if not argv:
        return "?"
    program = os.path.basename(argv[0].split()[0]) if argv[0].strip() else "?"
    if program.startswith("python") and len(argv) > 1:
        scripts = [arg for arg in argv[1:] if not arg.startswith("-")]
        program = os.path.basename(scripts[0]) if scripts else program
    if program == "privsep-helper" and "--privsep_context" in argv[:-1]:
        context = argv[argv.index("--privsep_context") + 1]
        program = f"privsep-helper {context.split('.')[0]}"
    return program


def node_state(lab: Lab, node: Node) -> str:
    return "running" if nspawn_alive(node.pid, lab.node_root(node)) else "stopped"


def lab_state(lab: Lab) -> str:
    states = {node_state(lab, n) for n in lab.nodes}
    return states.pop() if len(states) == 1 else "partial"


# ---------------------------------------------------------------- host network


def _link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def _iptables_has(table: str, rule: list[str]) -> bool:
    return host.run(["iptables", "-t", table, "-C", *rule], check=False).returncode == 0


def setup_network(lab: Lab) -> None:
    subnet = ipaddress.ip_network(lab.subnet)
    for bridge in (lab.mgmt_bridge, lab.tunnel_bridge):
        if not _link_exists(bridge):
            host.run(["ip", "link", "add", bridge, "type", "bridge"])
        host.run(["ip", "link", "set", bridge, "up"])
    gateway = f"{lab.gateway}/{subnet.prefixlen}"
    addrs = host.run(["ip", "-j", "addr", "show", "dev", lab.mgmt_bridge]).stdout
    if gateway.split("/")[0] not in addrs:
        host.run(["ip", "addr", "add", gateway, "dev", lab.mgmt_bridge])
    if not _iptables_has("nat", lab.nat_rule):
        host.run(["iptables", "-t", "nat", "-A", *lab.nat_rule])
    for rule in lab.forward_rules:
        if not _iptables_has("filter", rule):
            host.run(["iptables", "-I", *rule])
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    if forward.read_text().strip() != "1":
        marker = host.state_dir() / "ip_forward.orig"
        if not marker.exists():
            marker.write_text(forward.read_text())
        forward.write_text("1\n")


def teardown_network(lab: Lab) -> None:
    while _iptables_has("nat", lab.nat_rule):
        host.run(["iptables", "-t", "nat", "-D", *lab.nat_rule])
    for rule in lab.forward_rules:
        while _iptables_has("filter", rule):
            host.run(["iptables", "-D", *rule])
    for node in lab.nodes:
        for veth in (node.mgmt_veth(lab.lab_id), node.tunnel_veth(lab.lab_id)):
            if _link_exists(veth):
                host.run(["ip", "link", "del", veth], check=False)
    for bridge in (lab.mgmt_bridge, lab.tunnel_bridge):
        if _link_exists(bridge):
            host.run(["ip", "link", "del", bridge])


def restore_ip_forward() -> None:
    marker = host.state_dir() / "ip_forward.orig"
    if marker.exists() and not all_labs():
        Path("/proc/sys/net/ipv4/ip_forward").write_text(marker.read_text())
        marker.unlink()


# ---------------------------------------------------------------- hosts


def _networkd_unit(name: str, address: str, prefix: int, gateway: str | None) -> str:
    lines = [
        "[Match]",
        f"Name={name}",
        "",
        "[Network]",
        f"Address={address}/{prefix}",
        "LinkLocalAddressing=no",
        "IPv6AcceptRA=no",
    ]
    if gateway:
        lines.append(f"Gateway={gateway}")
    return "\n".join(lines) + "\n"


def prepare_node_root(lab: Lab, node: Node, source: Path) -> None:
    root = lab.node_root(node)
    if root.exists():
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    building = root.with_name("rootfs.building")
    if building.exists():
        shutil.rmtree(building)
    host.run(["cp", "-a", "--reflink=auto", source, building])
    (building / "etc/hostname").write_text(node.hostname + "\n")
    hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    hosts += [f"{n.address} {n.hostname}" for n in lab.nodes]
    (building / "etc/hosts").write_text("\n".join(hosts) + "\n")
    (building / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    (building / "etc/apt/apt.conf.d/91aptstack-archives").write_text(rootfs.host_apt_conf(node.hostname))
    resolv = building / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("\n".join(host.resolver_lines()) + "\n")
    network_dir = building / "etc/systemd/network"
    network_dir.mkdir(parents=True, exist_ok=True)
    mgmt = ipaddress.ip_network(lab.subnet)
    tun = ipaddress.ip_network(lab.tunnel_subnet)
    (network_dir / "10-mgmt0.network").write_text(_networkd_unit("mgmt0", node.address, mgmt.prefixlen, lab.gateway))
    (network_dir / "10-tun0.network").write_text(_networkd_unit("tun0", node.tunnel_address, tun.prefixlen, None))
    # Here rather than in the cached root filesystem, so that a cache built before them gets them too.
    rootfs.mask_units(building, rootfs.NO_OP_MOUNTS)
    ssh_dir = building / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text((lab.directory() / "id_ed25519.pub").read_text())
    authorized.chmod(0o600)
    host.run(["ssh-keygen", "-q", "-A", "-f", building])
    building.rename(root)


def mount_overlay(lab: Lab, node: Node) -> None:
    """The host's root: the snapshot's rootfs as the read-only lower layer, the host's own
    changes in an upper directory beside it (nothing is copied until a file is written)."""
    root = lab.node_root(node)
    if os.path.ismount(root):
        return
    lower = snapshot_root(lab.snapshot, node.hostname)
    if not (lower / "etc/os-release").exists() and not (lower / "usr/lib/os-release").exists():
        raise AptstackError(f"{node.hostname}: snapshot {lab.snapshot!r} has no root filesystem at {lower}")
    upper, work = root.with_name("upper"), root.with_name("work")
    for directory in (root, upper, work):
        directory.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    host.run(["mount", "-t", "overlay", f"aptstack-{lab.name}", "-o", options, root])


def unmount_overlays(lab: Lab) -> None:
    for node in lab.nodes:
        root = lab.node_root(node)
        # A mount still busy (a shell inside it) is detached, so that removing the lab cannot reach the lower layer.
        if os.path.ismount(root) and host.run(["umount", root], check=False).returncode != 0:
            host.run(["umount", "--lazy", root])


def known_hosts_lines(lab: Lab) -> list[str]:
    lines = []
    for node in lab.nodes:
        key = (lab.node_root(node) / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        lines.append(f"{node.address},{node.hostname} {key[0]} {key[1]}")
    return lines


def start_node(lab: Lab, node: Node) -> None:
    release = get_release(lab.release)
    root = lab.node_root(node)
    rootfs.share_archives(release, node.hostname)
    env = dict(os.environ, SYSTEMD_SECCOMP="0", SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
    mgmt_veth, tunnel_veth = node.mgmt_veth(lab.lab_id), node.tunnel_veth(lab.lab_id)
    argv = [
        "systemd-nspawn",
        "-D", str(root),
        "-M", node.hostname,
        "--register=no",
        "--keep-unit",
        "-b",
        "--console=read-only",
        "--capability=all",
        "--bind=/dev/net/tun",
        f"--bind={rootfs.apt_archive_cache(release)}:{rootfs.POOL_MOUNT}",
        f"--network-veth-extra={mgmt_veth}:mgmt0",
        f"--network-veth-extra={tunnel_veth}:tun0",
    ]  # fmt: skip
    cgroups = host.node_cgroups(lab.name, node.hostname)
    host.create_cgroups(cgroups)
    with open(root.parent / "console.log", "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, preexec_fn=lambda: host.enter_cgroups(cgroups),
        )  # fmt: skip
    node.pid = proc.pid
    save(lab)
    deadline = time.monotonic() + 20
    while not (_link_exists(mgmt_veth) and _link_exists(tunnel_veth)):
        if proc.poll() is not None:
            raise AptstackError(f"{node.hostname}: systemd-nspawn exited: {console_tail(lab, node)}")
        if time.monotonic() > deadline:
            raise AptstackError(f"{node.hostname}: veth interfaces did not appear")
        time.sleep(0.1)
    for veth, bridge in ((mgmt_veth, lab.mgmt_bridge), (tunnel_veth, lab.tunnel_bridge)):
        host.run(["ip", "link", "set", veth, "master", bridge, "up"])
        # The host's veth hands partially checksummed packets to an OVS port in the
        # container, which breaks the container's own TCP; turn tx offload off.
        host.run(["ethtool", "-K", veth, "tx", "off"])


def console_tail(lab: Lab, node: Node, lines: int = 15) -> str:
    path = lab.node_root(node).parent / "console.log"
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"


def nsenter(node: Node, *argv: str, timeout: int = 30, check: bool = False):
    leader = container_leader(node.pid)
    if leader is None:
        raise AptstackError(f"{node.hostname}: container has no PID 1")
    return host.run(["nsenter", "-t", leader, "-a", *argv], timeout=timeout, check=check)


def wait_running(lab: Lab, node: Node) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    state = "unknown"
    while time.monotonic() < deadline:
        if not nspawn_alive(node.pid, lab.node_root(node)):
            raise AptstackError(f"{node.hostname}: host stopped while booting: {console_tail(lab, node)}")
        if container_leader(node.pid):
            state = nsenter(node, "systemctl", "is-system-running").stdout.strip()
            if state == "running":
                return
            if state == "degraded":
                failed = nsenter(node, "systemctl", "--failed", "--no-legend", "--plain").stdout
                raise AptstackError(f"{node.hostname}: failed units: {' '.join(failed.split())}")
        time.sleep(0.5)
    raise AptstackError(f"{node.hostname}: not running after {BOOT_TIMEOUT}s (state {state})")


def ssh_argv(lab: Lab, node: Node, *command: str) -> list[str]:
    directory = lab.directory()
    return [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
        "-o", f"UserKnownHostsFile={directory / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes",
        "-i", str(directory / "id_ed25519"),
        f"root@{node.address}", *command,
    ]  # fmt: skip


def wait_ssh(lab: Lab, node: Node) -> None:
    deadline = time.monotonic() + SSH_TIMEOUT
    while True:
        result = host.run(ssh_argv(lab, node, "true"), check=False, timeout=15)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AptstackError(f"{node.hostname}: SSH not answering: {result.stderr.strip()}")
        time.sleep(0.5)


def stop_nodes(lab: Lab) -> None:
    """Kill every host of a lab that is about to be removed, all at once.

    Nothing of a removed host is kept, so a clean halt buys nothing; it would wait
    for every OpenStack daemon to stop (tens of seconds per host). Killing the
    container's PID 1 ends every process in it, and nspawn then exits on its own.
    """
    alive = [node for node in lab.nodes if nspawn_alive(node.pid, lab.node_root(node))]
    for node in alive:
        leader = container_leader(node.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(leader or node.pid, signal.SIGKILL)
    for node in alive:
        if not _wait_exit(node.pid, lab.node_root(node), 15):
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.pid, signal.SIGKILL)
            _wait_exit(node.pid, lab.node_root(node), 5)
    for node in lab.nodes:
        node.pid = None
        host.remove_cgroups(host.node_cgroups(lab.name, node.hostname))


def halt_waves(nodes: list[Node]) -> list[list[Node]]:
    """The order in which to halt a lab's hosts: compute-only hosts first, then the rest.

    nova-compute's heartbeat is an RPC call to nova-conductor on a controller, and its queue is
    durable. A compute host still running after the conductor stopped leaves its last call
    waiting in that queue, and a restore within the call's lifetime replays it: nova-compute
    reads as up before it has started. On an aio the unit order does the same job."""
    computes = [node for node in nodes if "controller" not in node.groups]
    others = [node for node in nodes if "controller" in node.groups]
    return [wave for wave in (computes, others) if wave]


def halt_nodes(lab: Lab, timeout: float = HALT_TIMEOUT, log=print) -> float:
    """Halt every running host of a lab cleanly; return the seconds it took.

    SIGTERM to nspawn makes the container's systemd stop its units in order (the OpenStack
    daemons before the databases and the message queue) and halt. The hosts of one wave of
    `halt_waves` halt at once. A host that has not halted after `timeout` seconds in all is an
    error: its disk would not be a clean one to keep."""
    started = time.monotonic()
    alive = [node for node in lab.nodes if nspawn_alive(node.pid, lab.node_root(node))]
    for wave in halt_waves(alive):
        for node in wave:
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.pid, signal.SIGTERM)
        for node in wave:
            remaining = max(1.0, timeout - (time.monotonic() - started))
            if not _wait_exit(node.pid, lab.node_root(node), remaining):
                raise AptstackError(
                    f"{node.hostname} did not halt within {timeout:.0f}s; "
                    f"remove the lab with: aptstack lab down --name {lab.name}"
                )
    for node in lab.nodes:
        node.pid = None
        host.remove_cgroups(host.node_cgroups(lab.name, node.hostname))
    save(lab)
    elapsed = time.monotonic() - started
    log(f"lab {lab.name}: {len(alive)} host(s) halted in {elapsed:.1f}s")
    return elapsed


def _wait_exit(pid: int, root: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Reap our own child; a pid started by an earlier aptstack run is not ours.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not nspawn_alive(pid, root):
            return True
        time.sleep(0.2)
    return False


# ---------------------------------------------------------------- commands


def _next_lab_id(labs: list[Lab]) -> int:
    used = {lab.lab_id for lab in labs}
    return next(i for i in range(1, 1000) if i not in used)


def up(
    name: str,
    topology: str = "aio",
    release: str = "resolute",
    computes: int = 1,
    subnet: str | None = None,
    tunnel_subnet: str | None = None,
    log=print,
) -> tuple[Lab, bool]:
    """Bring a lab up; return it and whether anything changed."""
    validate_request(name, topology, release, computes)
    host.require_root()
    host.require_tools()
    existing = load(name)
    if existing:
        wanted = (topology, release, computes if topology != "aio" else existing.computes)
        have = (existing.topology, existing.release, existing.computes)
        if wanted != have or (subnet and subnet != existing.subnet):
            raise UsageError(
                f"lab {name!r} already exists ({existing.topology}, {existing.release}, "
                f"{existing.computes} compute(s), {existing.subnet}); "
                f"take it down first with: aptstack lab down --name {name}"
            )
        if lab_state(existing) == "running":
            log(f"lab {name} is already running; nothing changed")
            return existing, False
        return _start(existing, log, created=False), True

    others = all_labs()
    routed = host.routed_networks()
    mgmt = parse_subnet(subnet, "--subnet") if subnet else None
    tun = parse_subnet(tunnel_subnet, "--tunnel-subnet") if tunnel_subnet else None
    chosen = []
    for network, option in ((mgmt, "--subnet"), (tun, "--tunnel-subnet")):
        if network:
            check_subnet_free(network, option, routed, others)
            chosen.append(network)
    if mgmt and tun and mgmt.overlaps(tun):
        raise UsageError(f"--subnet {mgmt} and --tunnel-subnet {tun} overlap")
    # A snapshot keeps its lab's addresses: a new lab does not take them unless asked to.
    free = allocate_subnets(2 - len(chosen), routed + chosen, others + snapshot_labs())
    mgmt = mgmt or free.pop(0)
    tun = tun or free.pop(0)
    computes = computes if topology == "controller-compute" else 1
    nodes = plan_nodes(name, topology, computes, str(mgmt), str(tun))
    lab = Lab(
        name=name, topology=topology, release=release, computes=computes,
        lab_id=_next_lab_id(others), subnet=str(mgmt), tunnel_subnet=str(tun), nodes=nodes,
    )  # fmt: skip
    rootfs.ensure_rootfs(get_release(release), log)
    save(lab)
    return _start(lab, log), True


def _start(lab: Lab, log, created: bool = True) -> Lab:
    """Start a lab's hosts and wait for SSH. When that fails, a lab `created` for this start is
    removed; a lab that existed (halted, perhaps with a deployed cloud) is halted again and kept."""
    started = time.monotonic()
    directory = lab.directory()
    try:
        key = directory / "id_ed25519"
        if not key.exists():
            host.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"aptstack-{lab.name}", "-f", key])
        source = None if lab.snapshot else rootfs.ensure_rootfs(get_release(lab.release), log)
        setup_network(lab)
        for node in lab.nodes:
            if lab.snapshot:
                mount_overlay(lab, node)
            else:
                prepare_node_root(lab, node, source)
            if node_state(lab, node) != "running":
                start_node(lab, node)
        (directory / "known_hosts").write_text("\n".join(known_hosts_lines(lab)) + "\n")
        for node in lab.nodes:
            wait_running(lab, node)
            wait_ssh(lab, node)
        inventory = directory / "inventory.yml"
        inventory.write_text(yaml.safe_dump(render_inventory(lab), sort_keys=False))
    except BaseException:
        if created:
            log(f"lab {lab.name}: start failed; removing what was created")
            down(lab.name, log=lambda _msg: None)
            raise
        log(f"lab {lab.name}: start failed; halting its hosts again and keeping the lab "
            f"(remove it with: aptstack lab down --name {lab.name})")  # fmt: skip
        try:
            halt_nodes(lab, log=lambda _msg: None)
        except AptstackError:
            stop_nodes(lab)
            save(lab)
        raise
    log(f"lab {lab.name}: {len(lab.nodes)} host(s) running after {time.monotonic() - started:.1f}s")
    return lab


def reports_dir(name: str) -> Path:
    return host.state_dir() / "reports" / name


# Beside an inventory (and in an upgrade run's directory), failure reports go into <DIAGNOSTICS_DIR>/.
DIAGNOSTICS_DIR = "diagnostics"
# The combined report the diagnostics role writes into each run's directory.
DIAGNOSTICS_REPORT = "report.txt"


def diagnostics_dir(name: str) -> Path:
    """Where a lab's failure reports are written while the lab exists."""
    return labs_dir() / name / DIAGNOSTICS_DIR


def upgrades_dir(name: str) -> Path:
    """Where a lab's upgrade reports are written while the lab exists."""
    return labs_dir() / name / upgrade.UPGRADES_DIR


def keep_reports(lab: Lab) -> Path | None:
    """Move the lab's failure reports and upgrade reports out of the lab directory before it is
    removed: failure reports to reports/<lab>/<time>/, upgrade reports to reports/<lab>/upgrades/<time>/."""
    target = reports_dir(lab.name)
    kept_upgrades = target / upgrade.UPGRADES_DIR
    runs = [
        *((run.parent, target / run.parent.name) for run in diagnostics_dir(lab.name).glob(f"*/{DIAGNOSTICS_REPORT}")),
        *((run, kept_upgrades / run.name) for run in upgrades_dir(lab.name).glob("*") if _holds_files(run)),
    ]
    if not runs:
        return None
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for source, destination in sorted(runs):
        if not destination.exists():
            destination.parent.mkdir(exist_ok=True, mode=0o700)
            shutil.move(str(source), destination)
    return target


def _holds_files(directory: Path) -> bool:
    return directory.is_dir() and any(path.is_file() for path in directory.rglob("*"))


def report_summaries(name: str, filename: str) -> list[Path]:
    """The named file of each failure report of a lab (an upgrade's too), kept ones and those still
    in the lab, oldest first."""
    if not NAME_PATTERN.match(name or ""):
        raise UsageError(f"invalid lab name {name!r}")
    found = [
        *reports_dir(name).glob(f"*/{filename}"),
        *reports_dir(name).glob(f"{upgrade.UPGRADES_DIR}/*/{DIAGNOSTICS_DIR}/{filename}"),
        *diagnostics_dir(name).glob(f"*/{filename}"),
        *upgrades_dir(name).glob(f"*/{DIAGNOSTICS_DIR}/{filename}"),
    ]
    return sorted(found, key=_run_time)


def _run_time(path: Path) -> str:
    """The time a report's run began: its directory's name, <time>/ or upgrades/<time>/diagnostics/."""
    return path.parent.parent.name if path.parent.name == DIAGNOSTICS_DIR else path.parent.name


def down(name: str, log=print) -> bool:
    """Stop and remove a lab; return whether it existed."""
    if not NAME_PATTERN.match(name or ""):
        raise UsageError(f"invalid lab name {name!r}")
    host.require_root()
    lab = load(name)
    if lab is None:
        log(f"no lab named {name}; nothing to do")
        return False
    stop_nodes(lab)
    unmount_overlays(lab)
    release = get_release(lab.release)
    for node in lab.nodes:
        rootfs.release_archives(release, node.hostname)
    teardown_network(lab)
    directory = lab.directory()
    kept = keep_reports(lab)
    if kept:
        log(f"kept the lab's failure and upgrade reports in {kept}")
    host.run(["rm", "-rf", "--one-file-system", directory])
    restore_ip_forward()
    log(f"lab {name} removed")
    return True


def listing() -> list[dict]:
    return [
        {
            "name": lab.name,
            "topology": lab.topology,
            "release": lab.release,
            "state": lab_state(lab),
            "subnet": lab.subnet,
            "snapshot": lab.snapshot,
            "hosts": [
                {
                    "name": n.hostname,
                    "address": n.address,
                    "state": node_state(lab, n),
                    "memory_bytes": node_memory(lab, n),
                }
                for n in lab.nodes
            ],
        }
        for lab in all_labs()
    ]
