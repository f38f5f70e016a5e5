# Copyright: aptstack developers
# Apache License 2.0
"""The host_names filter: the names inventory hosts give themselves, as OpenStack services see them."""

from __future__ import annotations

DOCUMENTATION = r"""
name: host_names
short_description: The names inventory hosts give themselves (their nodename fact), as OpenStack reports them
description:
  - Returns, for each inventory host, its C(ansible_facts.nodename), which nova-compute and neutron's
    OVN agents report as their host; a host without gathered facts is named by its inventory name.
  - One definition for every role that matches hosts against what an API lists.
positional: hostvars
options:
  _input:
    description: Inventory host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Name the compute hosts as nova does
  ansible.builtin.set_fact:
    compute_names: "{{ groups['compute'] | aptstack.openstack.host_names(hostvars) }}"
"""

RETURN = r"""
_value:
  description: One name per input host, in the input's order.
  type: list
  elements: str
"""


def host_names(hosts, hostvars):
    names = []
    for host in hosts:
        facts = hostvars[host].get("ansible_facts") if host in hostvars else None
        names.append((facts or {}).get("nodename") or host)
    return names


class FilterModule:
    def filters(self):
        return {"host_names": host_names}
