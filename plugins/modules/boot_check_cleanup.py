#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Remove exactly the resources of one boot check run, and prove that none is left."""

from __future__ import annotations

DOCUMENTATION = r"""
module: boot_check_cleanup
short_description: Remove the servers, floating IPs, router, ports, network and security group of a boot check run
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Deletes exactly the resources of the run O(run_name) in the authenticated project, in dependency order
    (servers, waiting until they are gone; floating IPs; router interfaces and routers; ports; subnets;
    networks; security groups), then lists them again and fails naming any that is left.
  - A resource is the run's when it has the name the run gives it (see
    M(aptstack.openstack.boot_check) and the C(aptstack.openstack.boot_check_names) filter), the
    Neutron tag C(aptstack-run=<run_name>), the server metadata C(aptstack_run=<run_name>), or (a floating
    IP) the description C(aptstack boot check <run_name>). Ports nova or a user put on the run's networks
    go too; Neutron's own DHCP and metadata ports go with their network.
  - The flavor and the image are kept for the next run.
options:
  run_name:
    description:
      - The run whose resources are removed.
      - 1-48 letters, digits, C(.), C(_) or C(-).
    type: str
    required: true
  delete_timeout:
    description: Seconds to wait for the servers to be deleted.
    type: int
    default: 180
extends_documentation_fragment:
  - openstack.cloud.openstack
notes:
  - Runs where the cloud's API is reachable (the controller) with the credentials the run was made with.
  - Supports check mode; it then returns what it would delete in RV(deleted).
  - The generic O(wait) and O(timeout) options are not used; see O(delete_timeout).
"""

EXAMPLES = r"""
- name: Remove everything of the check
  aptstack.openstack.boot_check_cleanup:
    cloud: aptstack
    run_name: aptstack-verify
"""

RETURN = r"""
deleted:
  description: Resources deleted (type, id, name), in order.
  returned: always
  type: list
  elements: dict
left:
  description: Resources of the run still there after deleting (then the module fails).
  returned: always
  type: list
  elements: dict
elapsed:
  description: Seconds the cleanup took.
  returned: always
  type: float
"""

import time

from ansible_collections.aptstack.openstack.plugins.module_utils.boot_check import (
    belongs_to_run,
    check_run_name,
    resource_names,
    run_tag,
    unique_by_id,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.timing import round_seconds
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule

ROUTER_INTERFACE_OWNERS = (
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
)


class CleanupFailed(Exception):
    """The servers did not go in time."""


class BootCheckCleanupModule(OpenStackModule):
    argument_spec = dict(
        run_name=dict(required=True),
        delete_timeout=dict(type="int", default=180),
    )
    module_kwargs = dict(supports_check_mode=True)

    @staticmethod
    def _as_dict(res):
        return res.to_dict(computed=False) if hasattr(res, "to_dict") else dict(res)

    def _run_resources(self, list_fn, name=None):
        """Resources of the run from Neutron list calls: by tag, and by exact name."""
        found = []
        queries = [dict(tags=self.tag)]
        if name is not None:
            queries.append(dict(name=name))
        for extra in queries:
            for res in list_fn(project_id=self.project_id, **extra):
                if belongs_to_run(self._as_dict(res), self.run_name, name=name):
                    found.append(res)
        return unique_by_id(found)

    def _floating_ips(self, port_ids=()):
        found = []
        for fip in self.conn.network.ips(project_id=self.project_id):
            data = self._as_dict(fip)
            if belongs_to_run(data, self.run_name, description=self.names["floating_ip"]) or (
                fip.port_id and fip.port_id in port_ids
            ):
                found.append(fip)
        return unique_by_id(found)

    def _servers(self):
        found = []
        for server in self.conn.compute.servers(details=True):
            data = {"name": server.name, "metadata": server.metadata or {}}
            if belongs_to_run(data, self.run_name, name=self.names["server"]):
                found.append(server)
        return unique_by_id(found)

    def _inventory(self):
        """Every resource of the run but its servers, in deletion order (type, resources)."""
        net = self.conn.network
        networks = self._run_resources(net.networks, name=self.names["network"])
        net_ids = [n.id for n in networks]
        subnets = self._run_resources(net.subnets, name=self.names["subnet"])
        for net_id in net_ids:
            subnets.extend(net.subnets(network_id=net_id))
        ports = self._run_resources(net.ports, name=self.names["port"])
        # Ports nova or a user put on the run's networks (not Neutron's own DHCP/metadata ports).
        for net_id in net_ids:
            ports.extend(p for p in net.ports(network_id=net_id) if not (p.device_owner or "").startswith("network:"))
        ports = unique_by_id(ports)
        return {
            "floating_ip": self._floating_ips(port_ids={p.id for p in ports}),
            "router": self._run_resources(net.routers, name=self.names["router"]),
            "port": ports,
            "subnet": unique_by_id(subnets),
            "network": networks,
            "security_group": self._run_resources(net.security_groups, name=self.names["security_group"]),
        }

    @staticmethod
    def _describe(kind, res):
        name = getattr(res, "name", None) or getattr(res, "floating_ip_address", None) or ""
        return {"type": kind, "id": res.id, "name": name}

    def _delete_servers(self, deleted):
        servers = self._servers()
        for server in servers:
            deleted.append(self._describe("server", server))
            if not self.check_mode:
                self.conn.compute.delete_server(server, ignore_missing=True)
        if not servers or self.check_mode:
            return
        deadline = time.monotonic() + self.params["delete_timeout"]
        pending = {s.id for s in servers}
        while pending:
            pending = {sid for sid in pending if self.conn.compute.find_server(sid, ignore_missing=True) is not None}
            if pending and time.monotonic() > deadline:
                raise CleanupFailed(
                    f"servers {', '.join(sorted(pending))} were not deleted within {self.params['delete_timeout']} s"
                )
            if pending:
                time.sleep(1)

    def _delete_all(self):
        deleted = []
        # Servers first: their ports and floating IPs are released with them.
        self._delete_servers(deleted)
        found = self._inventory()
        net = self.conn.network
        deletes = {
            "floating_ip": net.delete_ip,
            "router": net.delete_router,
            "port": net.delete_port,
            "subnet": net.delete_subnet,
            "network": net.delete_network,
            "security_group": net.delete_security_group,
        }
        for kind, resources in found.items():
            if kind == "router":
                # A router goes only without interfaces.
                for router in resources:
                    for port in net.ports(device_id=router.id):
                        if port.device_owner in ROUTER_INTERFACE_OWNERS:
                            deleted.append({"type": "router_interface", "id": port.id, "name": router.name})
                            if not self.check_mode:
                                net.remove_interface_from_router(router, port_id=port.id)
            for res in resources:
                deleted.append(self._describe(kind, res))
                if not self.check_mode:
                    deletes[kind](res, ignore_missing=True)
        return deleted

    def run(self):
        self.run_name = self.params["run_name"]
        error = check_run_name(self.run_name)
        if error:
            self.fail_json(msg=error)
        self.tag = run_tag(self.run_name)
        self.names = resource_names(self.run_name)
        self.project_id = self.conn.current_project_id
        started = time.monotonic()
        result = dict(changed=False, run_name=self.run_name, deleted=[], left=[])
        try:
            result["deleted"] = self._delete_all()
        except CleanupFailed as exc:
            self.fail_json(msg=f"Cleanup of run {self.run_name} failed: {exc}", **result)
        result["changed"] = bool(result["deleted"])
        # Nothing found is nothing left: listing everything again would only cost time.
        if result["deleted"] and not self.check_mode:
            left = [self._describe("server", server) for server in self._servers()]
            for kind, resources in self._inventory().items():
                left.extend(self._describe(kind, res) for res in resources)
            result["left"] = left
        result["elapsed"] = round_seconds(time.monotonic() - started)
        if result["left"]:
            result["msg"] = "Resources of run {} are left after deleting: {}".format(
                self.run_name, ", ".join(f"{item['type']} {item['name'] or item['id']}" for item in result["left"])
            )
            self.fail_json(**result)
        self.exit_json(**result)


def main():
    module = BootCheckCleanupModule()
    module()


if __name__ == "__main__":
    main()
