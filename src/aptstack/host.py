"""Facts about, and commands on, the machine that hosts the lab."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

from .errors import AptstackError, UsageError

# tool -> Debian package that provides it
HOST_TOOLS = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "iptables": "iptables",
    "ethtool": "ethtool",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "ssh-keygen": "openssh-client",
    "ssh": "openssh-client",
    "dpkg-deb": "dpkg",
    "apt-get": "apt",
}


def state_dir() -> Path:
    return Path(os.environ.get("APTSTACK_STATE_DIR", "/var/lib/aptstack"))


def cache_dir() -> Path:
    return Path(os.environ.get("APTSTACK_CACHE_DIR", "/var/cache/aptstack"))


def require_root() -> None:
    if os.geteuid() != 0:
        raise UsageError("aptstack lab needs root: run it as root (or with sudo)")


def require_tools(tools=HOST_TOOLS) -> None:
    missing = sorted(tool for tool in tools if shutil.which(tool) is None)
    if missing:
        packages = sorted({HOST_TOOLS.get(tool, tool) for tool in missing})
        raise UsageError(
            f"missing host tools: {', '.join(missing)}; install them with: apt-get install {' '.join(packages)}"
        )


def run(argv, *, check=True, capture=True, env=None, timeout=None, input=None, cwd=None):
    """Run argv (never through a shell); raise AptstackError with its stderr on failure."""
    try:
        proc = subprocess.run(
            [str(a) for a in argv],
            check=False,
            capture_output=capture,
            text=True,
            env=env,
            timeout=timeout,
            input=input,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise AptstackError(f"timed out after {timeout}s: {' '.join(map(str, argv))}") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:] if capture else []
        raise AptstackError(
            f"command failed ({proc.returncode}): {' '.join(map(str, argv))}"
            + (": " + " | ".join(detail) if detail else "")
        )
    return proc


def routed_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the host routes (except the default route)."""
    out = run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout
    networks = []
    for route in json.loads(out or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", "") or route.get("type") in ("broadcast", "local"):
            continue
        try:
            networks.append(ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False))
        except ValueError:
            continue
    return networks


def host_addresses() -> list[ipaddress.IPv4Interface]:
    out = run(["ip", "-j", "-4", "addr", "show"]).stdout
    found = []
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            found.append(ipaddress.ip_interface(f"{addr['local']}/{addr['prefixlen']}"))
    return found


def apt_source_uris() -> list[str]:
    """Archive URIs from the host's own apt sources, in the order apt lists them."""
    uris = []
    etc = Path("/etc/apt")
    files = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for line in text.splitlines():
                if line.lower().startswith("uris:"):
                    uris.extend(line.split(":", 1)[1].split())
        elif path.suffix == ".list" or path.name == "sources.list":
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if words and words[0] == "deb":
                    words = [w for w in words[1:] if not w.startswith("[")]
                    if words:
                        uris.append(words[0])
    return uris


def debian_mirror() -> str:
    """The Debian archive the host already uses (security archives excluded)."""
    for uri in apt_source_uris():
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    raise UsageError(
        "cannot find a Debian archive in the host's apt sources "
        "(needed to fetch archive keyrings); add one to /etc/apt/sources.list"
    )


def resolver_lines() -> list[str]:
    """nameserver lines of the host's resolver, for the lab hosts (reached through NAT)."""
    try:
        text = Path("/etc/resolv.conf").read_text()
    except OSError:
        return []
    lines = [line for line in text.splitlines() if line.startswith("nameserver ")]
    # A loopback resolver on the host is not reachable from a lab host.
    return [line for line in lines if not line.split()[1].startswith("127.")]


# ---------------------------------------------------------------- cgroups

CGROUP_MOUNT = Path("/sys/fs/cgroup")


def cgroup_hierarchies(mount: Path = CGROUP_MOUNT) -> list[Path]:
    """The cgroup hierarchies systemd-nspawn places a container in: the unified one, and on a
    hybrid host also the named systemd one."""
    if (mount / "cgroup.controllers").exists():
        return [mount]
    return [path for path in (mount / "unified", mount / "systemd") if (path / "cgroup.procs").exists()]


def node_cgroups(lab_name: str, hostname: str, mount: Path = CGROUP_MOUNT) -> list[Path]:
    """One cgroup per lab host in each hierarchy.

    With --keep-unit and no systemd on the host, nspawn puts each container under the cgroup it
    was started in, plus "payload"; started from the same cgroup, every container would share
    one tree, and a systemd in one container would wait for (or kill) the same-named units of
    another when it stops a unit."""
    return [root / "aptstack" / lab_name / hostname for root in cgroup_hierarchies(mount)]


def create_cgroups(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AptstackError(f"cannot create cgroup {path}: {exc.strerror}") from exc


def enter_cgroups(paths: list[Path]) -> None:
    """Move the calling process into the given (created) cgroups."""
    for path in paths:
        (path / "cgroup.procs").write_text("0\n")


def remove_cgroups(paths: list[Path]) -> None:
    """Remove emptied cgroups, children first; a cgroup that still holds a process stays."""
    for path in paths:
        if not path.is_dir():
            continue
        for child in sorted((d for d in path.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
            with contextlib.suppress(OSError):
                child.rmdir()
        for directory in (path, path.parent, path.parent.parent):
            with contextlib.suppress(OSError):
                directory.rmdir()
