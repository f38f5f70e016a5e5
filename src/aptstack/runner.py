"""Run the collection's playbooks with ansible-playbook (an argv list, never a shell)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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


def collection_file(relative: str) -> Path:
    """A file of the installed collection (the one ansible-playbook will run), for the checks the
    driver shares with it."""
    for entry in collections_path().split(os.pathsep):
        candidate = Path(entry).expanduser() / "ansible_collections" / "aptstack" / "openstack" / relative
        if candidate.is_file():
            return candidate
    raise UsageError(f"the aptstack.openstack collection is not installed in {collections_path()}")


def mitogen_strategy_dir() -> str | None:
    """Mitogen's strategy plugins, unless APTSTACK_MITOGEN=0 or it is not installed.

    Mitogen runs modules in a persistent interpreter per host instead of one SSH
    round trip and a fresh Python per task: a re-deploy takes less than half the time.
    """
    if os.environ.get("APTSTACK_MITOGEN", "1") == "0":
        return None
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(spec.submodule_search_locations[0]) / "plugins" / "strategy")


CALLBACKS = "aptstack.openstack.role_times,aptstack.openstack.failure_summary"


def strategy_env() -> dict:
    """The strategy settings for Ansible: mitogen's, unless the caller chose a strategy."""
    strategy_dir = mitogen_strategy_dir()
    if not strategy_dir or "ANSIBLE_STRATEGY" in os.environ:
        return {}
    return {"ANSIBLE_STRATEGY_PLUGINS": strategy_dir, "ANSIBLE_STRATEGY": "mitogen_linear"}


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(strategy_env())
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": collections_path(),
            # Per-role time summary, and the failed tasks repeated, at the end of every run.
            "ANSIBLE_CALLBACKS_ENABLED": CALLBACKS,
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_FORCE_COLOR": env.get("ANSIBLE_FORCE_COLOR", "1" if sys.stdout.isatty() else "0"),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
        }
    )
    env.update(extra or {})
    return env


def playbook_argv(
    playbook: str, inventory: str, extra_vars=(), tags=None, skip_tags=None, check=False, verbose=0, limit=None
):
    argv = [_ansible_playbook(), "-i", inventory, f"{COLLECTION}.{playbook}"]
    if limit:
        argv += ["--limit", limit]
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
        raise UsageError(
            "ansible-playbook not found: install the distribution's 'ansible' package, or 'ansible' with pip"
        )
    return found


def run_playbook(argv: list[str], env: dict | None = None, stdout=None) -> int:
    """Stream ansible-playbook's output (to stdout, or the given stream) and return its exit status."""
    inventory = argv[argv.index("-i") + 1]
    if not Path(inventory).exists():
        raise UsageError(f"inventory {inventory} does not exist")
    return subprocess.call(argv, env=ansible_env(env), stdout=stdout)


# A stand-in host for checking extra variables before a lab exists (`aptstack up`): the check
# play runs on localhost only, so this address is never contacted.
STAND_IN_INVENTORY = (
    "all:\n  children:\n    controller: {hosts: {input-check: {ansible_host: 192.0.2.1}}}\n"
    "    compute: {hosts: {input-check: {}}}\n"
)


def recap_changed(output: str) -> dict[str, int]:
    """Each host's changed count in the last PLAY RECAP of an ansible-playbook output."""
    recap = output[output.rindex("PLAY RECAP") :] if "PLAY RECAP" in output else ""
    return {host: int(count) for host, count in re.findall(r"^(\S+)\s+:.*\bchanged=(\d+)", recap, re.MULTILINE)}


def check_inputs(inventory: str | None, extra_vars=()) -> None:
    """Run the collection's input check (the first play of site.yml and verify.yml) on its own,
    quietly, and raise UsageError with its one line when the inventory or a variable is wrong.
    Without an inventory only the extra variables are checked. Contacts no host, changes nothing."""
    with tempfile.TemporaryDirectory(prefix="aptstack-check-") as tmp:
        if inventory is None:
            inventory = str(Path(tmp) / "inventory.yml")
            Path(inventory).write_text(STAND_IN_INVENTORY)
        record_file = Path(tmp) / "failures.json"
        argv = playbook_argv("check_inputs", inventory, extra_vars)
        if not Path(inventory).exists():
            raise UsageError(f"inventory {inventory} does not exist")
        done = subprocess.run(
            argv, env=ansible_env({"APTSTACK_FAILURES_FILE": str(record_file), "ANSIBLE_FORCE_COLOR": "0"}),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return
        raise UsageError(input_check_message(inventory, done.stdout, _read_record(record_file), done.returncode))


def input_check_message(inventory: str, output: str, record: dict, status: int) -> str:
    """One line for a failed input check: why the inventory did not parse, else the check's own message."""
    if "Unable to parse" in output:
        plugin = "yaml" if inventory.endswith((".yml", ".yaml")) else "ini"
        reasons = re.findall(r"Failed to parse inventory with '(\w+)' plugin: (.*)", output)
        reason = next((text for name, text in reasons if name == plugin), reasons[0][1] if reasons else "")
        return f"inventory {inventory} could not be parsed" + (f": {reason.strip()}" if reason else "")
    for failure in record.get("failures", []):
        message = failure.get("message", "")
        if "aptstack input check: " in message:
            return message.split("aptstack input check: ", 1)[1].splitlines()[0]
    errors = [line for line in output.splitlines() if line.startswith("[ERROR]")]
    return errors[-1].removeprefix("[ERROR]: ") if errors else f"the input check failed (exit {status})"


def _read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> int:
    """`python -m aptstack.runner COMMAND...`: run COMMAND (molecule) with the strategy the
    aptstack command gives Ansible. Collection paths stay the caller's: molecule installs
    the collection under test into the first one itself."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m aptstack.runner COMMAND [ARG...]", file=sys.stderr)
        return 2
    os.execvpe(argv[0], argv, {**os.environ, **strategy_env()})
    return 127  # not reached: execvpe replaces this process or raises


if __name__ == "__main__":
    sys.exit(main())
