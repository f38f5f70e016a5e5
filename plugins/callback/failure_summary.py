# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Repeat every failed task at the end of a run, and record them for the tools that run next."""

from __future__ import annotations

DOCUMENTATION = r"""
name: failure_summary
type: aggregate
short_description: List failed and unreachable tasks at the end of a run
description:
  - A deploy prints thousands of lines; the task that broke it scrolls away. At the end of a
    playbook run this callback repeats each failed or unreachable task (host, role, task and the
    first lines of its message) under a C(FAILED TASKS) banner. Failures that a task ignores or
    rescues are left out.
  - >-
    When the environment variable C(APTSTACK_FAILURES_FILE) names a file, the run is also recorded
    there as JSON, an object with C(failed) (true or false) and C(failures) (a list of objects with
    C(host), C(role), C(task), C(kind) (C(failed) or C(unreachable)), C(preflight) (true for a task
    of a role's C(tasks/preflight.yml) or C(tasks/*_preflight.yml), a check of its settings that
    changes nothing) and C(message)). The file is written after every run, so a successful run
    replaces the record of a failed one. The molecule scenarios read it to collect diagnostics
    before the lab is destroyed.
  - Messages of tasks marked C(no_log) are already censored by Ansible and stay censored.
requirements:
  - enable in configuration (C(callbacks_enabled = aptstack.openstack.failure_summary))
"""

import json
import os
from pathlib import PurePath

from ansible.plugins.callback import CallbackBase
from ansible_collections.aptstack.openstack.plugins.module_utils.task_roles import owning_role

MESSAGE_LINES = 6
MESSAGE_CHARS = 600
# What ansible-core puts in "exception" of a failure that has no traceback (an assert's): not a cause.
NO_TRACEBACK = "(traceback unavailable)"


def failure_message(result: dict) -> str:
    """The most telling text of a failed result, shortened to a few lines."""
    parts = []
    for key in ("msg", "stderr", "module_stderr", "exception"):
        value = result.get(key)
        text = value.strip() if isinstance(value, str) else ""
        if text and text != NO_TRACEBACK and text not in parts:
            parts.append(text)
        if len(parts) == 2:
            break
    if not parts and result.get("results"):
        failed_items = [item for item in result["results"] if isinstance(item, dict) and item.get("failed")]
        if failed_items:
            return failure_message(failed_items[0])
    text = "\n".join(parts) or "(no message)"
    lines = text.splitlines()
    if len(lines) > MESSAGE_LINES:
        lines = [*lines[:MESSAGE_LINES], f"... ({len(lines) - MESSAGE_LINES} more lines)"]
    text = "\n".join(lines)
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " ..."


# Lines of an unreachable result's message that say nothing about the cause (Ansible's and mitogen's
# wrapping of the connection's own error).
UNREACHABLE_NOISE = ("Task failed.", "EOF on stream; last 100 lines received:", NO_TRACEBACK)


def unreachable_message(result: dict) -> str:
    """The connection error of an unreachable host, on one line."""
    text = str(result.get("msg") or "").removeprefix("Task failed: ")
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and line not in UNREACHABLE_NOISE]
    return " / ".join(dict.fromkeys(kept)) or "(no message)"


def from_preflight(task) -> bool:
    """Whether a task is one of a role's settings checks, which change nothing: a task of its
    tasks/preflight.yml, or of a tasks/<what>_preflight.yml (checks that need the host's facts)."""
    path = PurePath((task.get_path() or "").rsplit(":", 1)[0])
    return path.parent.name == "tasks" and (path.name == "preflight.yml" or path.name.endswith("_preflight.yml"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aptstack.openstack.failure_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._failures = []

    def _record(self, result, kind):
        task = result._task
        self._failures.append(
            {
                "host": result._host.get_name(),
                "role": owning_role(task),
                "task": task.get_name(),
                "kind": kind,
                "preflight": from_preflight(task),
                "message": unreachable_message(result._result)
                if kind == "unreachable"
                else failure_message(result._result),
            }
        )

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        # A failure inside a block with a rescue is handled by the play; it did not break the run.
        if self._rescued(result._task):
            return
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    @staticmethod
    def _rescued(task):
        node = getattr(task, "_parent", None)
        while node is not None:
            if getattr(node, "rescue", None):
                return True
            node = getattr(node, "_parent", None)
        return False

    def v2_playbook_on_stats(self, stats):
        if self._failures:
            self._display.banner("FAILED TASKS")
            for failure in self._failures:
                where = f"{failure['role']} : " if failure["role"] else ""
                if failure["kind"] == "unreachable":
                    # One line: the connection's own error says it all.
                    self._display.display(f"{failure['host']} | unreachable | {failure['message']}", color="red")
                    continue
                self._display.display(f"{failure['host']} | {failure['kind']} | {where}{failure['task']}", color="red")
                for line in failure["message"].splitlines():
                    self._display.display(f"    {line}", color="red")
        target = os.environ.get("APTSTACK_FAILURES_FILE")
        if target:
            with open(target, "w") as handle:
                json.dump({"failed": bool(self._failures), "failures": self._failures}, handle, indent=1)
