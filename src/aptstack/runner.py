"""Run the collection's playbooks with ansible-playbook (an argv list, never a shell)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import UsageError

COLLECTION = "aptstack.openstack"


def collections_path() -> str:
    """Where the installed collection lives: the venv's share dir, then Ansible's own paths."""
    paths = [str(Path(sys.prefix) / "share" / "aptstack" / "collections")]
    existing = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if existing:
        paths.append(existing)
    else:
        paths += ["~/.ansible/collections", "/usr/share/ansible/collections"]
    return os.pathsep.join(paths)


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": collections_path(),
            # Per-role time summary at the end of every run.
            "ANSIBLE_CALLBACKS_ENABLED": "aptstack.openstack.role_times",
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_FORCE_COLOR": env.get("ANSIBLE_FORCE_COLOR", "1" if sys.stdout.isatty() else "0"),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
        }
    )
    env.update(extra or {})
    return env


def playbook_argv(playbook: str, inventory: str, extra_vars=(), tags=None, skip_tags=None, check=False, verbose=0):
    argv = [_ansible_playbook(), "-i", inventory, f"{COLLECTION}.{playbook}"]
    for item in extra_vars:
        argv += ["-e", item]
    if tags:
        argv += ["--tags", tags]
    if skip_tags:
        argv += ["--skip-tags", skip_tags]
    if check:
        argv.append("--check")
    if verbose:
        argv.append("-" + "v" * verbose)
    return argv


def _ansible_playbook() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible-playbook")
    if not found:
        raise UsageError("ansible-playbook not found: install the 'ansible' package (pip install ansible)")
    return found


def run_playbook(argv: list[str], env: dict | None = None, stdout=None) -> int:
    """Stream ansible-playbook's output (to stdout, or the given stream) and return its exit status."""
    inventory = argv[argv.index("-i") + 1]
    if not Path(inventory).exists():
        raise UsageError(f"inventory {inventory} does not exist")
    return subprocess.call(argv, env=ansible_env(env), stdout=stdout)
