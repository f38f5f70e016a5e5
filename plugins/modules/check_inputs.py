#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Documentation of the check_inputs action; the check runs on the Ansible side (plugins/action)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: check_inputs
short_description: Refuse a bad inventory or bad variables before any host is contacted
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Runs on the Ansible side only (an action plugin); it contacts no host and changes nothing.
  - With O(inventory), the inventory must have hosts, exactly one host in group C(controller), at least
    one in group C(compute) (an all-in-one host is in both), no host outside those two groups, no machine
    listed under two names (the same C(ansible_host)), and C(aptstack_controller_host), when given, must
    be the controller.
  - With O(variables), every extra variable and inventory variable named C(aptstack_*) or C(*_overrides)
    must be declared by some role's C(meta/argument_specs.yml), and every declared variable given must
    have the declared type. An unknown name is reported with the nearest declared names. The argument
    specs are the only list of names; nothing else needs updating when a role declares a new option.
  - Fails with one line that names every problem. Values are never printed (some are secrets).
options:
  inventory:
    description: Check the inventory's groups and hosts.
    type: bool
    default: true
  variables:
    description: Check the names and types of the given variables.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: It changes nothing, so it runs in check mode too.
notes:
  - Run it in a first play on C(localhost) with C(gather_facts) off and C(any_errors_fatal), so that
    a failure stops the playbook before any other play starts.
"""

EXAMPLES = r"""
- name: Check the inputs
  hosts: localhost
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: Check the inventory and the given variables
      aptstack.openstack.check_inputs:
"""

RETURN = r"""
msg:
  description: What was wrong, on one line, or that the inputs are consistent.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    # Reached only when the action plugin is bypassed (the module copied to a host by hand).
    module = AnsibleModule(
        argument_spec={"inventory": {"type": "bool", "default": True}, "variables": {"type": "bool", "default": True}},
        supports_check_mode=True,
    )
    module.fail_json(msg="check_inputs runs on the Ansible side as an action plugin, not on a host")


if __name__ == "__main__":
    main()
