"""Local mode: the machine aptstack runs on is the whole cloud (controller and compute).

This is the autopkgtest case: a throwaway testbed, with the packages under test installed from
the archive (and -proposed, pinned by autopkgtest itself), that deploys onto itself over Ansible's
local connection. Everything here runs from the distribution's Python with the standard library
and python3-yaml only (tests/unit/test_local.py checks the imports)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

import yaml

from .errors import UsageError
from .host import state_dir

# Names a host must not have in the inventory: Ansible's implicit localhost runs the input
# check play, which leaves "localhost" out of the inventory's hosts.
RESERVED_NAMES = {"", "localhost", "localhost.localdomain"}
FALLBACK_NAME = "aio"


def local_dir() -> Path:
    """Where local mode keeps its inventory, secrets and reports (APTSTACK_STATE_DIR/local)."""
    return state_dir() / "local"


def inventory_name(hostname: str) -> str:
    """The machine's short host name (nova and OVN name the chassis by it), unless it is one that
    Ansible reserves for its implicit localhost."""
    short = hostname.split(".", 1)[0]
    return FALLBACK_NAME if hostname in RESERVED_NAMES or short in RESERVED_NAMES else short


def default_address() -> str:
    """The address this machine's default route leaves from (a UDP socket's connect only picks the
    route; nothing is sent), or loopback on a machine without a default route."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routed like any outside address; nothing is sent
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def local_inventory(hostname: str, networkd: bool, address: str, python: str = "/usr/bin/python3") -> dict:
    """An aio inventory for this machine over the local connection.

    - The archive sources stay the machine's own: on a testbed they are what autopkgtest set up
      (the release, and -proposed pinned to the packages under test), so common must not rewrite them.
    - Addresses moved onto OVS bridges are persisted as systemd-networkd files only where
      systemd-networkd runs; elsewhere (ifupdown, a minimal testbed) they are set at run time.
    - Modules run on the distribution's Python, where python3-openstacksdk and python3-apt live.
    - address: the management address (every service listens there), as a lab inventory gives it."""
    name = inventory_name(hostname)
    return {
        "all": {
            "vars": {
                "ansible_connection": "local",
                # The connection ignores ansible_host, but the services' clients find the controller
                # by the inventory (hostvars), not by its facts: both name the management address.
                "ansible_host": address,
                "aptstack_management_address": address,
                "ansible_python_interpreter": python,
                "aptstack_apt_manage_sources": False,
                "ovn_chassis_networkd_persist": networkd,
            },
            "children": {"controller": {"hosts": {name: {}}}, "compute": {"hosts": {name: {}}}},
        }
    }


def networkd_active() -> bool:
    """Whether systemd-networkd manages this machine's links."""
    if not shutil.which("systemctl"):
        return False
    done = subprocess.run(["systemctl", "is-active", "--quiet", "systemd-networkd"], check=False, capture_output=True)
    return done.returncode == 0


HEADER = (
    "# Written by `aptstack deploy --local` (and verify, teardown): this machine is the controller\n"
    "# and the compute host, reached over Ansible's local connection. Rewritten on every run.\n"
)


def clean_environment() -> None:
    """Over the local connection every module and command inherits ansible-playbook's environment,
    which is the driver's. A PYTHONPATH that found the driver (a source tree, as the autopkgtest
    runs it) would reach the services' own tools: keystone-manage, run as user keystone, failed
    on a path under /root. The driver is loaded by now; the cloud does not get it."""
    os.environ.pop("PYTHONPATH", None)


def write_inventory(directory: Path | None = None) -> Path:
    """Write the local inventory (0600 directory: the secrets go beside it) and return its path.
    Local mode changes the machine itself: it needs root, refused here before anything is written."""
    if os.geteuid() != 0:
        raise UsageError("--local deploys onto this machine and must run as root")
    directory = directory or local_dir()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / "inventory.yml"
    text = HEADER + yaml.safe_dump(
        local_inventory(socket.gethostname(), networkd_active(), default_address()), sort_keys=False
    )
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
