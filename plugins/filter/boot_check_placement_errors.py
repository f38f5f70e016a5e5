# Copyright: aptstack developers
# Apache License 2.0
"""The boot_check_placement_errors filter: which target hosts have no usable nova hypervisor."""

from __future__ import annotations

DOCUMENTATION = r"""
name: boot_check_placement_errors
short_description: Name every target host of a boot check without a usable nova hypervisor
description:
  - Matches each target host to a nova hypervisor by name or address, as M(aptstack.openstack.boot_check)
    does before it requests a server, and returns a sentence for each target that is not an inventory
    host, has no hypervisor, or whose hypervisor is down or disabled (an empty list when all are usable).
  - The C(aptstack.openstack.verify) role checks this before it makes anything for the check.
positional: inventory_hosts, targets
options:
  _input:
    description: >-
      Nova's hypervisors with details, as C(openstack.cloud.resources) lists them (service C(compute),
      type C(hypervisor)).
    type: list
    elements: dict
    required: true
  inventory_hosts:
    description: Inventory hosts that may run a server, each with a list of its other names and addresses.
    type: dict
    required: true
  targets:
    description: The inventory hosts to boot one server on each.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Fail when a target has no usable hypervisor
  ansible.builtin.fail:
    msg: "{{ errors | join('; ') }}"
  when: errors | length > 0
  vars:
    errors: >-
      {{ hypervisors.resources | aptstack.openstack.boot_check_placement_errors({'cmp1': ['10.0.0.11']}, ['cmp1']) }}
"""

RETURN = r"""
_value:
  description: One sentence per unusable target, naming it.
  type: list
  elements: str
"""

from ansible_collections.aptstack.openstack.plugins.module_utils.boot_check import hypervisor_facts, place_targets


def boot_check_placement_errors(hypervisors, inventory_hosts, targets):
    _placement, errors = place_targets(inventory_hosts, targets, [hypervisor_facts(h) for h in hypervisors or []])
    return errors


class FilterModule:
    def filters(self):
        return {"boot_check_placement_errors": boot_check_placement_errors}
