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
  - Units that are not active are left alone; starting them is the job of the task that follows.
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
attributes:
  check_mode:
    support: full
    description: In check mode the stale units are reported and not restarted.
notes:
  - Use it after C(ansible.builtin.meta) C(flush_handlers), so that it only acts when a handler
    did not.
  - Only for units whose handlers restart them; a reload does not change the time a unit became
    active.
"""

EXAMPLES = r"""
- name: Restart nova services still running an older nova.conf or nova package
  aptstack.openstack.restart_stale:
    units: [nova-conductor, nova-scheduler]
    paths: [/etc/nova/nova.conf]
    packages: [nova-common, nova-conductor, nova-scheduler]

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
"""

import glob
import os
import time

from ansible.module_utils.basic import AnsibleModule


def unit_state(module, systemctl, unit):
    """(ActiveState, realtime epoch at which the unit last became active or None)."""
    rc, out, err = module.run_command(
        [systemctl, "show", "--property=ActiveState,ActiveEnterTimestampMonotonic", unit], check_rc=False
    )
    if rc != 0:
        module.fail_json(msg=f"systemctl show {unit} failed: {err.strip() or out.strip()}")
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    monotonic_us = int(props.get("ActiveEnterTimestampMonotonic") or 0)
    if not monotonic_us:
        return props.get("ActiveState", "unknown"), None
    # systemd and this process read the same kernel clock, so the offset converts it to wall time.
    started = time.time() - (time.monotonic() - monotonic_us / 1e6)
    return props.get("ActiveState", "unknown"), started


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
        },
        supports_check_mode=True,
    )
    systemctl = module.get_bin_path("systemctl", required=True)
    newest, newest_mtime = newest_file(module.params["paths"], module.params["packages"])
    restarted = []
    for unit in module.params["units"]:
        state, started = unit_state(module, systemctl, unit)
        if state != "active" or started is None or newest is None or newest_mtime <= started:
            continue
        restarted.append({"unit": unit, "newer": newest, "seconds_newer": round(newest_mtime - started, 1)})
        if module.check_mode:
            continue
        rc, out, err = module.run_command([systemctl, "restart", unit], check_rc=False)
        if rc != 0:
            module.fail_json(
                msg=f"restarting {unit} (older than {newest}) failed: {err.strip() or out.strip()}",
                restarted=restarted,
            )
    module.exit_json(changed=bool(restarted), restarted=restarted)


if __name__ == "__main__":
    main()
