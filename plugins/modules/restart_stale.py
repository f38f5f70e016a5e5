#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Restart units that have been running since before their configuration or package changed."""

from __future__ import annotations

DOCUMENTATION = r"""
module: restart_stale
short_description: Restart systemd units that still run an older configuration or package
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - A configuration change notifies a restart handler. When the run stops before the handler runs
    (a later task failed, an earlier handler failed, the run was interrupted), the next run finds the
    file unchanged, notifies nothing, and the service keeps running the old configuration. This
    module closes that gap without any state of its own. It compares when each unit last became
    active with when its files last changed, and restarts the units that started earlier.
  - The files are O(paths) (shell-style wildcards allowed; missing ones are ignored) and, for each
    entry of O(packages), the package's file list in the dpkg database, which dpkg rewrites whenever
    the package is installed or upgraded. So a unit also restarts after a new upload of its package.
  - Units that are not active are not restarted. With O(started) and O(enabled) the module also
    starts them and enables them at boot, as M(ansible.builtin.systemd_service) with
    C(state=started) and C(enabled=true) would, so that one task (and one C(systemctl show) of
    every unit) does what a restart check and a loop over the units did.
  - The unit's start time is read with sub-second precision (systemd's monotonic timestamp), so a
    file written just before a restart does not make the unit look stale.
options:
  units:
    description: systemd units to check, in the order they are restarted.
    type: list
    elements: str
    required: true
  paths:
    description: Files whose change should restart the units. Wildcards are expanded.
    type: list
    elements: path
    default: []
  packages:
    description: Debian packages whose installation or upgrade should restart the units.
    type: list
    elements: str
    default: []
  started:
    description:
      - Start the units that are not active (or activating), after the stale ones are restarted.
    type: bool
    default: false
  enabled:
    description:
      - Enable at boot the units whose unit file is disabled. A masked unit is an error.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: In check mode the units are reported and not restarted, started or enabled.
notes:
  - Use it after C(ansible.builtin.meta) C(flush_handlers), so that it only acts when a handler
    did not.
  - Only for units whose handlers restart them; a reload does not change the time a unit became
    active.
  - A unit that does not exist is an error when O(started) or O(enabled) is set, and skipped otherwise.
"""

EXAMPLES = r"""
- name: Restart nova services still running an older nova.conf or nova package
  aptstack.openstack.restart_stale:
    units: [nova-conductor, nova-scheduler]
    paths: [/etc/nova/nova.conf]
    packages: [nova-common, nova-conductor, nova-scheduler]

- name: Run the nova services, restarting any that started before nova.conf last changed
  aptstack.openstack.restart_stale:
    units: [nova-conductor, nova-scheduler]
    paths: [/etc/nova/nova.conf]
    started: true
    enabled: true

- name: Restart Apache when a WSGI site or its application's config is newer than Apache
  aptstack.openstack.restart_stale:
    units: [apache2]
    paths:
      - /etc/apache2/sites-enabled/*.conf
      - /etc/placement/placement.conf
"""

RETURN = r"""
restarted:
  description: The units restarted (or, in check mode, that would be), with the newest file that made each stale.
  returned: always
  type: list
  elements: dict
  sample: [{"unit": "nova-conductor.service", "newer": "/etc/nova/nova.conf", "seconds_newer": 41.2}]
started:
  description: The units started because they were not active (with O(started)).
  returned: always
  type: list
  elements: str
  sample: ["nova-scheduler"]
enabled:
  description: The units enabled at boot because their unit file was disabled (with O(enabled)).
  returned: always
  type: list
  elements: str
  sample: ["nova-scheduler"]
"""

import glob
import os
import time

from ansible.module_utils.basic import AnsibleModule

# What one `systemctl show` tells about each unit.
PROPERTIES = ("LoadState", "ActiveState", "UnitFileState", "ActiveEnterTimestampMonotonic")
RUNNING = ("active", "activating", "reloading")


def unit_states(module, systemctl, units):
    """unit -> its properties, from one `systemctl show` of every unit (blocks in the order asked),
    with 'started': the realtime epoch at which the unit last became active, or None."""
    rc, out, err = module.run_command(
        [systemctl, "show", "--property=" + ",".join(PROPERTIES), "--", *units], check_rc=False
    )
    if rc != 0:
        module.fail_json(msg=f"systemctl show {' '.join(units)} failed: {err.strip() or out.strip()}")
    blocks = out.strip("\n").split("\n\n")
    if len(blocks) != len(units):
        module.fail_json(msg=f"systemctl show {' '.join(units)} answered for {len(blocks)} units")
    states = {}
    for unit, block in zip(units, blocks, strict=True):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        monotonic_us = int(props.get("ActiveEnterTimestampMonotonic") or 0)
        # systemd and this process read the same kernel clock, so the offset converts it to wall time.
        props["started"] = time.time() - (time.monotonic() - monotonic_us / 1e6) if monotonic_us else None
        states[unit] = props
    return states


def newest_file(paths, packages):
    """(path, mtime) of the most recently changed of the files, or (None, 0)."""
    candidates = []
    for pattern in paths:
        candidates.extend(glob.glob(pattern) if glob.has_magic(pattern) else [pattern])
    for package in packages:
        candidates.extend(glob.glob(f"/var/lib/dpkg/info/{package}.list"))
        candidates.extend(glob.glob(f"/var/lib/dpkg/info/{package}:*.list"))
    newest, newest_mtime = None, 0.0
    for path in candidates:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        if mtime > newest_mtime:
            newest, newest_mtime = path, mtime
    return newest, newest_mtime


def main():
    module = AnsibleModule(
        argument_spec={
            "units": {"type": "list", "elements": "str", "required": True},
            "paths": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "started": {"type": "bool", "default": False},
            "enabled": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    systemctl = module.get_bin_path("systemctl", required=True)
    newest, newest_mtime = newest_file(module.params["paths"], module.params["packages"])
    start, enable = module.params["started"], module.params["enabled"]
    restarted, started, enabled = [], [], []

    def systemctl_do(verb, unit, why):
        if module.check_mode:
            return
        rc, out, err = module.run_command([systemctl, verb, unit], check_rc=False)
        if rc != 0:
            module.fail_json(
                msg=f"{verb} {unit} ({why}) failed: {err.strip() or out.strip()}",
                restarted=restarted,
                started=started,
                enabled=enabled,
            )

    for unit, state in unit_states(module, systemctl, module.params["units"]).items():
        if (start or enable) and state.get("LoadState") == "not-found":
            module.fail_json(msg=f"unit {unit} does not exist", restarted=restarted, started=started, enabled=enabled)
        active = state.get("ActiveState") == "active"
        if active and state["started"] is not None and newest is not None and newest_mtime > state["started"]:
            restarted.append(
                {"unit": unit, "newer": newest, "seconds_newer": round(newest_mtime - state["started"], 1)}
            )
            systemctl_do("restart", unit, f"older than {newest}")
        elif start and state.get("ActiveState") not in RUNNING:
            started.append(unit)
            systemctl_do("start", unit, f"it was {state.get('ActiveState', 'unknown')}")
        if enable and state.get("UnitFileState", "").startswith("masked"):
            module.fail_json(msg=f"unit {unit} is masked, cannot enable it", restarted=restarted, started=started)
        if enable and state.get("UnitFileState") == "disabled":
            enabled.append(unit)
            systemctl_do("enable", unit, "its unit file was disabled")
    module.exit_json(
        changed=bool(restarted or started or enabled), restarted=restarted, started=started, enabled=enabled
    )


if __name__ == "__main__":
    main()
