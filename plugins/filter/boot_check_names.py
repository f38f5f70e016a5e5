# Copyright: aptstack developers
# Apache License 2.0
"""The boot_check_names filter: the names of a boot check run's resources."""

from __future__ import annotations

DOCUMENTATION = r"""
name: boot_check_names
short_description: Names of the network, subnet, router, security group, servers and ports of a boot check run
description:
  - The names the C(aptstack.openstack.verify) role gives the resources it makes for a run, and that
    M(aptstack.openstack.boot_check) and M(aptstack.openstack.boot_check_cleanup) use to find them
    (one definition for all three).
positional: targets
options:
  _input:
    description: The run name.
    type: str
    required: true
  targets:
    description: Inventory hosts to boot one server on each; empty for one server the scheduler places.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Name the run's resources
  ansible.builtin.set_fact:
    names: "{{ 'aptstack-verify' | aptstack.openstack.boot_check_names(['compute1', 'compute2']) }}"
"""

RETURN = r"""
_value:
  description: >-
    C(network), C(subnet), C(router), C(security_group), C(floating_ip) (the floating IPs' description)
    and C(servers), one entry per target with C(target), C(server) and C(port).
  type: dict
"""

from ansible_collections.aptstack.openstack.plugins.module_utils.boot_check import run_names


def boot_check_names(run_name, targets=None):
    return run_names(run_name, targets or [])


class FilterModule:
    def filters(self):
        return {"boot_check_names": boot_check_names}
