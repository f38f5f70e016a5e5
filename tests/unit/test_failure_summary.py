"""The failure_summary callback, run by a real ansible-playbook against localhost."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .source_files import ROOT

COLLECTIONS = ROOT / ".venv" / "share" / "aptstack" / "collections"

PLAYBOOK = """
- name: Failures the summary must and must not list
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Ignored failure
      ansible.builtin.fail:
        msg: ignored on purpose
      ignore_errors: true

    - name: Rescued block
      block:
        - name: Failure that a rescue handles
          ansible.builtin.fail:
            msg: rescued on purpose
      rescue:
        - name: Rescue
          ansible.builtin.debug:
            msg: rescued

    - name: Secret task
      ansible.builtin.command: /bin/false hunter2
      no_log: true
      ignore_errors: true

    - name: Break the run
      ansible.builtin.command: /bin/sh -c 'echo line1 >&2; exit 3'
"""

PASSING = """
- name: Nothing fails
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Succeed
      ansible.builtin.debug:
        msg: fine
"""


REFUSED = """
- name: A role's settings check refuses a value
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Check the role's settings
      ansible.builtin.include_role:
        name: demo
        tasks_from: {tasks_from}
"""


def run(tmp_path, playbook):
    assert COLLECTIONS.exists(), "the collection link is made by make venv"
    book = tmp_path / "play.yml"
    book.write_text(playbook)
    record = tmp_path / "failures.json"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_CALLBACKS_ENABLED": "aptstack.openstack.failure_summary",
        "ANSIBLE_NOCOLOR": "1",
        "APTSTACK_FAILURES_FILE": str(record),
        "ANSIBLE_ROLES_PATH": str(tmp_path / "roles"),
    }
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    done = subprocess.run(
        [playbook_bin, "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}", book],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, record


def test_lists_only_the_failure_that_broke_the_run(tmp_path):
    done, record = run(tmp_path, PLAYBOOK)
    assert done.returncode == 2
    summary = done.stdout.split("FAILED TASKS", 1)[1]
    assert "localhost | failed | Break the run" in summary
    assert "line1" in summary
    assert "on purpose" not in summary
    assert "hunter2" not in done.stdout
    data = json.loads(record.read_text())
    assert data["failed"] is True
    assert [(f["task"], f["preflight"]) for f in data["failures"]] == [("Break the run", False)]


def test_a_passing_run_replaces_the_record(tmp_path):
    done, record = run(tmp_path, PLAYBOOK)
    assert json.loads(record.read_text())["failed"] is True
    done, record = run(tmp_path, PASSING)
    assert done.returncode == 0
    assert "FAILED TASKS" not in done.stdout
    assert json.loads(record.read_text()) == {"failed": False, "failures": []}


@pytest.mark.parametrize("tasks_from", ["preflight", "sources_preflight"])
def test_a_failed_settings_check_is_marked_preflight(tmp_path, tasks_from):
    tasks = tmp_path / "roles" / "demo" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / f"{tasks_from}.yml").write_text(
        "- name: Check the settings\n"
        "  ansible.builtin.assert:\n    that: [false]\n    fail_msg: demo_port must be a port.\n"
    )
    done, record = run(tmp_path, REFUSED.format(tasks_from=tasks_from))
    assert done.returncode == 2
    failures = json.loads(record.read_text())["failures"]
    assert [(f["role"], f["task"], f["preflight"], f["message"]) for f in failures] == [
        ("demo", "demo : Check the settings", True, "demo_port must be a port.")
    ]
