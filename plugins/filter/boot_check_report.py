# Copyright: aptstack developers
# Apache License 2.0
"""The boot_check_report filter: per-server results and failures of a boot check."""

from __future__ import annotations

DOCUMENTATION = r"""
name: boot_check_report
short_description: Put the servers of a boot check together with their pings, and list what failed
description:
  - Takes the C(servers) of M(aptstack.openstack.boot_check) and the M(aptstack.openstack.wait_ping)
    results for their fixed and floating addresses (in the same order) and returns one entry per server
    (where it runs, addresses, what the guest reported, pings, timings, its failures) and the list of all
    failures, each naming the server's host.
  - A server counts as failed when it runs on no inventory host or not on the host it was pinned to, when
    a ping got no answer (a skipped ping counts as none), or when its console shows a problem.
positional: fixed_pings, floating_pings, floating_host, early_fixed_pings
options:
  _input:
    description: The C(servers) list of M(aptstack.openstack.boot_check).
    type: list
    elements: dict
    required: true
  fixed_pings:
    description: The C(results) of the fixed-address pings, one per server.
    type: list
    elements: dict
    required: true
  floating_pings:
    description: The C(results) of the floating-address pings, one per server.
    type: list
    elements: dict
    default: []
  floating_host:
    description: The inventory host the floating addresses were pinged from; empty when they were not pinged.
    type: str
  early_fixed_pings:
    description:
      - The C(results) of M(ansible.builtin.async_status) for fixed-address pings started before the servers
        existed. A server whose fixed address is among them takes that result instead of its entry in
        O(fixed_pings); a job that had not finished counts as no answer.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Collect the results
  ansible.builtin.set_fact:
    check: "{{ boot.servers | aptstack.openstack.boot_check_report(fixed.results, floating.results, 'controller') }}"
"""

RETURN = r"""
_value:
  description: C(servers) (one entry per server) and C(failures) (sentences).
  type: dict
"""

from ansible_collections.aptstack.openstack.plugins.plugin_utils.check_report import check_report


def boot_check_report(servers, fixed_pings, floating_pings=None, floating_host=None, early_fixed_pings=None):
    return check_report(servers, fixed_pings, floating_pings, floating_host or None, early_fixed_pings)


class FilterModule:
    def filters(self):
        return {"boot_check_report": boot_check_report}
