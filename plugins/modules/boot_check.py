#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Boot the aptstack test guest on its own network and wait for its console markers."""

from __future__ import annotations

DOCUMENTATION = r"""
module: boot_check
short_description: Boot the aptstack test guest behind a router with a floating IP and read its console
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - With O(state=present), ensures everything its servers need to be reachable, all named after
    O(run_name) and tagged C(aptstack-run=<run_name>) (Neutron resources) or given the metadata
    C(aptstack_run=<run_name>) (the servers); a tenant network and subnet (MTU derived by Neutron), a
    router with its external gateway on O(external_network) and an interface in the subnet, a security
    group with ICMP and TCP O(tcp_ports) ingress, and per server a port and a floating IP on
    O(external_network) bound to that port. It also ensures the shared flavor O(flavor).
  - It boots one server from O(image) on each of O(target_hosts) (pinned with the availability zone
    C(nova:<compute host>)), or a single server wherever the scheduler puts it when O(target_hosts) is
    empty. Servers of the same run left from an earlier check are deleted first. All servers are
    requested before any is waited for; then it waits for C(ACTIVE), and (bounded by O(console_timeout))
    until each guest prints C(APTSTACK-GUEST ready) on its console.
  - It returns, per server, its id, compute host, hypervisor, fixed and floating addresses, network id,
    what the guest reported (DHCP address, instance uuid from the metadata service) with any mismatch
    in C(console.problems), and timings.
  - On failure (a target with no usable hypervisor, a server in C(ERROR), not C(ACTIVE) in time, no
    C(ready) marker in time) the failure result holds the failing server's fault, the console log tail
    and the port's binding state (C(binding:vif_type), C(binding:host_id), status), and C(hints) on
    what they mean.
  - With O(state=absent), deletes exactly the run's resources (server, floating IP, router interfaces
    and router, ports, subnet, network, security group), then lists them again and fails if any is left.
    The flavor and the image are kept.
options:
  run_name:
    description:
      - Names and tags every resource of the check. O(state=absent) with the same name deletes exactly
        those resources.
      - 1-48 letters, digits, C(.), C(_) or C(-).
    type: str
    required: true
  state:
    description: C(present) boots the check server, C(absent) removes everything of the run.
    type: str
    choices: [present, absent]
    default: present
  image:
    description: Name or ID of the bootable guest image (the C(ami) image of M(aptstack.openstack.guest_image)).
    type: str
  flavor:
    description: Name of the flavor to boot with; created (or replaced when its size differs) with the sizes below.
    type: str
    default: aptstack-verify
  flavor_ram:
    description: RAM of the flavor in MiB. The guest runs from its initramfs.
    type: int
    default: 128
  flavor_vcpus:
    description: vCPUs of the flavor.
    type: int
    default: 1
  flavor_disk:
    description: Root disk of the flavor in GiB.
    type: int
    default: 1
  external_network:
    description: Name or ID of the external (provider) network for the router gateway and the floating IP.
    type: str
    default: public
  cidr:
    description: CIDR of the tenant subnet.
    type: str
    default: 192.168.222.0/24
  tcp_ports:
    description: TCP ports the security group lets in (besides ICMP).
    type: list
    elements: int
    default: [22]
  boot_timeout:
    description: Seconds to wait for the server to become C(ACTIVE).
    type: int
    default: 300
  console_timeout:
    description:
      - Seconds to wait, once the server is C(ACTIVE), for the C(ready) marker on its console.
      - The guest retries DHCP and the metadata service for up to a minute each before it reports a
        failure and prints C(ready), so keep this above two minutes.
    type: int
    default: 240
  wait_console:
    description: Wait for the console markers. When false the module returns once the server is C(ACTIVE).
    type: bool
    default: true
  console_tail_lines:
    description: Lines of the console log returned in C(console.tail).
    type: int
    default: 40
  delete_timeout:
    description: Seconds to wait for a server to be deleted.
    type: int
    default: 180
  inventory_hosts:
    description:
      - Inventory hosts that may run the server, each with a list of its other names and addresses.
        The host matching the server's compute host, hypervisor name or hypervisor IP is returned as
        C(server.inventory_host).
    type: dict
    default: {}
  target_hosts:
    description:
      - Keys of O(inventory_hosts) to boot one server on each. The module finds the nova hypervisor of
        each by name or address and fails, before creating anything, when one has none or it is down or
        disabled.
      - Empty boots a single server and lets the scheduler place it.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - openstack.cloud.openstack
notes:
  - Runs where the cloud's API is reachable (the controller) with admin credentials; the resources are
    made in the authenticated project.
  - Supports check mode; O(state=present) then only reports which resources are missing, and
    O(state=absent) which would be deleted.
  - The generic O(wait) and O(timeout) options are not used; see O(boot_timeout), O(console_timeout) and
    O(delete_timeout).
"""

EXAMPLES = r"""
- name: Boot the test guest
  aptstack.openstack.boot_check:
    cloud: aptstack
    run_name: aptstack-verify
    image: "{{ guest.image_id }}"
    inventory_hosts:
      compute1: [10.0.0.11]
      compute2: [10.0.0.12]
    target_hosts: [compute1, compute2]
  register: boot

- name: Ping each fixed address from the metadata namespace on its compute host
  aptstack.openstack.wait_ping:
    address: "{{ item.fixed_ip }}"
    namespace: "ovnmeta-{{ item.network_id }}"
  delegate_to: "{{ item.inventory_host }}"
  loop: "{{ boot.servers }}"

- name: Remove everything of the check
  aptstack.openstack.boot_check:
    cloud: aptstack
    run_name: aptstack-verify
    state: absent
"""

RETURN = r"""
servers:
  description: The check's servers, one per target host (or the single one the scheduler placed), in order.
  returned: state is present
  type: list
  elements: dict
  contains:
    id:
      description: Server ID.
      type: str
    name:
      description: Server name.
      type: str
    status:
      description: Server status.
      type: str
    target_host:
      description: The entry of O(target_hosts) the server was pinned to, or null.
      type: str
    host:
      description: Compute host (C(OS-EXT-SRV-ATTR:host)).
      type: str
    hypervisor_hostname:
      description: Hypervisor name (C(OS-EXT-SRV-ATTR:hypervisor_hostname)).
      type: str
    hypervisor_ip:
      description: The hypervisor's C(host_ip), when known.
      type: str
    inventory_host:
      description: The entry of O(inventory_hosts) that runs the server, or null.
      type: str
    fixed_ip:
      description: Fixed address on the tenant network.
      type: str
    floating_ip:
      description: Floating address on the external network.
      type: str
    network_id:
      description: Tenant network ID (its metadata namespace is C(ovnmeta-<network_id>)).
      type: str
    subnet_id:
      description: Tenant subnet ID.
      type: str
    port_id:
      description: The server's port ID.
      type: str
    router_id:
      description: Router ID.
      type: str
    security_group_id:
      description: Security group ID.
      type: str
    mtu:
      description: MTU Neutron derived for the tenant network.
      type: int
    image_id:
      description: Image the server booted from.
      type: str
    flavor_id:
      description: Flavor the server booted with.
      type: str
    console:
      description: What the guest printed.
      type: dict
      contains:
        ready:
          description: The guest printed C(APTSTACK-GUEST ready).
          type: bool
        dhcp_address:
          description: Address and prefix the guest got by DHCP.
          type: str
        dhcp_ip:
          description: Address the guest got by DHCP.
          type: str
        iface:
          description: Guest interface name.
          type: str
        dhcp_failed:
          description: The guest reported C(dhcp-failed).
          type: bool
        dhcp_failed_detail:
          description: The NIC name, packet counters and carrier the guest reported with C(dhcp-failed).
          type: str
        metadata_uuid:
          description: Instance uuid the guest read from the metadata service.
          type: str
        metadata_failed:
          description: The guest reported C(metadata-failed).
          type: bool
        markers:
          description: The marker lines in order.
          type: list
          elements: str
        uptimes:
          description: The guest's uptime in seconds at each kind of marker.
          type: dict
        problems:
          description: Mismatches (DHCP address not the fixed address, uuid not the server's).
          type: list
          elements: str
        tail:
          description: Last O(console_tail_lines) lines of the console log.
          type: list
          elements: str
    port:
      description: Binding state of the server's port (Neutron's C(binding:*) attributes as C(binding_*)).
      type: dict
      contains:
        id:
          description: Port ID.
          type: str
        status:
          description: Port status (C(ACTIVE) once ovn-controller claimed it).
          type: str
        binding_vif_type:
          description: C(binding:vif_type) (C(ovs), C(unbound), C(binding_failed)).
          type: str
        binding_host_id:
          description: C(binding:host_id), the host Neutron bound the port on.
          type: str
        binding_vif_details:
          description: C(binding:vif_details).
          type: dict
        device_owner:
          description: Device owner.
          type: str
        device_id:
          description: Device (server) ID.
          type: str
        fixed_ips:
          description: Fixed addresses.
          type: list
          elements: str
        mac_address:
          description: MAC address.
          type: str
    timings:
      description: Seconds per phase of this server.
      type: dict
      contains:
        created_at:
          description: Epoch time of its create request (to measure later steps from).
          type: float
        active_s:
          description: Create request to C(ACTIVE).
          type: float
        console_s:
          description: C(ACTIVE) to the C(ready) marker (polled every second).
          type: float
        ready_at:
          description: Epoch time the C(ready) marker was seen.
          type: float
server:
  description: The server that failed (id, name, status, host, hypervisor_hostname).
  returned: on failure of a server
  type: dict
console:
  description: What the failing server's guest printed, as in RV(servers[].console).
  returned: on failure of a server
  type: dict
port:
  description: Binding state of the failing server's port, as in RV(servers[].port).
  returned: on failure of a server
  type: dict
fault:
  description: The server's fault (code, message), when nova recorded one.
  returned: on failure, when there is one
  type: dict
hints:
  description: Short sentences on what the fault, port state and console mean.
  returned: always with state present
  type: list
  elements: str
timings:
  description: Seconds per phase of the whole check (per server timings are in RV(servers)).
  returned: state is present
  type: dict
  contains:
    setup_s:
      description: Network, router, security group, ports, floating IPs and flavor.
      type: float
    total_s:
      description: The whole module.
      type: float
deleted:
  description: Resources deleted (type, id, name), in order.
  returned: state is absent, or state is present when an old server of the run was replaced
  type: list
  elements: dict
left:
  description: Resources of the run still there after deleting (then the module fails).
  returned: state is absent
  type: list
  elements: dict
would_create:
  description: Resources O(state=present) would create.
  returned: check mode
  type: list
  elements: str
"""

import time

from ansible_collections.aptstack.openstack.plugins.module_utils.boot_check import (
    RUN_METADATA_KEY,
    belongs_to_run,
    check_run_name,
    diagnose,
    match_inventory_host,
    place_targets,
    port_state,
    resource_names,
    run_tag,
    server_names,
    unique_by_id,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.guest_console import (
    console_done,
    console_problems,
    parse_console,
    tail,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.timing import round_seconds
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule

ROUTER_INTERFACE_OWNERS = (
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
)


class CheckFailed(Exception):
    """A failure of the check itself (not of an API call)."""


class BootCheckModule(OpenStackModule):
    argument_spec = dict(
        run_name=dict(required=True),
        state=dict(default="present", choices=["present", "absent"]),
        image=dict(),
        flavor=dict(default="aptstack-verify"),
        flavor_ram=dict(type="int", default=128),
        flavor_vcpus=dict(type="int", default=1),
        flavor_disk=dict(type="int", default=1),
        external_network=dict(default="public"),
        cidr=dict(default="192.168.222.0/24"),
        tcp_ports=dict(type="list", elements="int", default=[22]),
        boot_timeout=dict(type="int", default=300),
        console_timeout=dict(type="int", default=240),
        wait_console=dict(type="bool", default=True),
        console_tail_lines=dict(type="int", default=40),
        delete_timeout=dict(type="int", default=180),
        inventory_hosts=dict(type="dict", default={}),
        target_hosts=dict(type="list", elements="str", default=[]),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_if=[("state", "present", ["image"])],
    )

    # ----------------------------------------------------------------- lookup

    def _setup_names(self):
        run = self.params["run_name"]
        error = check_run_name(run)
        if error:
            self.fail_json(msg=error)
        self.run_name = run
        self.tag = run_tag(run)
        self.names = resource_names(run)
        self.project_id = self.conn.current_project_id

    @staticmethod
    def _as_dict(res):
        return res.to_dict(computed=False) if hasattr(res, "to_dict") else dict(res)

    def _run_resources(self, list_fn, name=None, description=None, **query):
        """Resources of the run from one Neutron list call: by tag, and by exact name."""
        found = []
        queries = [dict(tags=self.tag)]
        if name is not None:
            queries.append(dict(name=name))
        for extra in queries:
            for res in list_fn(project_id=self.project_id, **query, **extra):
                if belongs_to_run(self._as_dict(res), self.run_name, name=name, description=description):
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

    def _tag(self, res):
        try:
            self.conn.network.set_tags(res, [self.tag])
        except self.sdk.exceptions.SDKException as exc:
            # Names still identify the run's resources; tags are the second key.
            self.warn(f"Could not tag {res.id} with {self.tag}: {exc}")

    def _first(self, items):
        return items[0] if items else None

    # ----------------------------------------------------------------- absent

    def _wait_servers_gone(self, servers):
        deadline = time.monotonic() + self.params["delete_timeout"]
        pending = {s.id for s in servers}
        while pending:
            for server_id in list(pending):
                if self.conn.compute.find_server(server_id, ignore_missing=True) is None:
                    pending.discard(server_id)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"servers {', '.join(sorted(pending))} were not deleted within {self.params['delete_timeout']} s"
                )
            time.sleep(1)

    def _delete_servers(self, deleted):
        servers = self._servers()
        for server in servers:
            deleted.append({"type": "server", "id": server.id, "name": server.name})
            if not self.check_mode:
                self.conn.compute.delete_server(server, ignore_missing=True)
        if servers and not self.check_mode:
            self._wait_servers_gone(servers)

    def _inventory(self):
        """Every resource of the run, in deletion order (type, resource)."""
        networks = self._run_resources(self.conn.network.networks, name=self.names["network"])
        net_ids = [n.id for n in networks]
        subnets = self._run_resources(self.conn.network.subnets, name=self.names["subnet"])
        for net_id in net_ids:
            subnets.extend(self.conn.network.subnets(network_id=net_id))
        subnets = unique_by_id(subnets)
        ports = self._run_resources(self.conn.network.ports, name=self.names["port"])
        # Ports nova or a user put on the run's networks (not Neutron's own DHCP/metadata ports).
        for net_id in net_ids:
            for port in self.conn.network.ports(network_id=net_id):
                owner = port.device_owner or ""
                if not owner.startswith("network:"):
                    ports.append(port)
        ports = unique_by_id(ports)
        routers = self._run_resources(self.conn.network.routers, name=self.names["router"])
        groups = self._run_resources(self.conn.network.security_groups, name=self.names["security_group"])
        fips = self._floating_ips(port_ids={p.id for p in ports})
        return {
            "servers": self._servers(),
            "floating_ips": fips,
            "routers": routers,
            "ports": ports,
            "subnets": subnets,
            "networks": networks,
            "security_groups": groups,
        }

    @staticmethod
    def _describe(kind, res):
        name = getattr(res, "name", None) or getattr(res, "floating_ip_address", None) or ""
        return {"type": kind, "id": res.id, "name": name}

    def _delete_each(self, kind, resources, delete, deleted):
        for res in resources:
            deleted.append(self._describe(kind, res))
            if not self.check_mode:
                delete(res, ignore_missing=True)

    def _delete_all(self):
        deleted = []
        self._delete_servers(deleted)
        found = self._inventory()
        net = self.conn.network
        self._delete_each("floating_ip", found["floating_ips"], net.delete_ip, deleted)
        for router in found["routers"]:
            for port in net.ports(device_id=router.id):
                if port.device_owner in ROUTER_INTERFACE_OWNERS:
                    deleted.append({"type": "router_interface", "id": port.id, "name": router.name})
                    if not self.check_mode:
                        net.remove_interface_from_router(router, port_id=port.id)
        self._delete_each("router", found["routers"], net.delete_router, deleted)
        # Ports before their subnets, subnets before their networks.
        self._delete_each("port", found["ports"], net.delete_port, deleted)
        self._delete_each("subnet", found["subnets"], net.delete_subnet, deleted)
        self._delete_each("network", found["networks"], net.delete_network, deleted)
        self._delete_each("security_group", found["security_groups"], net.delete_security_group, deleted)
        return deleted

    def _absent(self):
        started = time.monotonic()
        try:
            deleted = self._delete_all()
        except CheckFailed as exc:
            self.fail_json(msg=f"Cleanup of run {self.run_name} failed: {exc}", run_name=self.run_name)
        left = []
        if not self.check_mode:
            for kind, items in self._inventory().items():
                left.extend(self._describe(kind.rstrip("s"), res) for res in items)
        result = dict(
            changed=bool(deleted),
            run_name=self.run_name,
            deleted=deleted,
            left=left,
            elapsed=round_seconds(time.monotonic() - started),
        )
        if left:
            result["msg"] = "Resources of run {} are left after deleting: {}".format(
                self.run_name, ", ".join(f"{item['type']} {item['name'] or item['id']}" for item in left)
            )
            self.fail_json(**result)
        return result

    # ----------------------------------------------------------------- present: resources

    def _external_network(self):
        ext = self.conn.network.find_network(self.params["external_network"], ignore_missing=True)
        if ext is None:
            raise CheckFailed(
                f"external network {self.params['external_network']!r} not found (the provider_network role creates it)"
            )
        if not ext.is_router_external:
            raise CheckFailed(f"network {ext.name} is not external (router:external is false)")
        return ext

    def _ensure_flavor(self, plan):
        want = (self.params["flavor_ram"], self.params["flavor_vcpus"], self.params["flavor_disk"])
        flavor = self.conn.compute.find_flavor(self.params["flavor"], ignore_missing=True)
        if flavor is not None and (flavor.ram, flavor.vcpus, flavor.disk) == want:
            return flavor
        plan.append(f"flavor {self.params['flavor']}")
        if self.check_mode:
            return flavor
        if flavor is not None:
            # Flavors cannot change; running servers keep their own copy of it.
            self.conn.compute.delete_flavor(flavor, ignore_missing=True)
        return self.conn.compute.create_flavor(
            name=self.params["flavor"], ram=want[0], vcpus=want[1], disk=want[2], is_public=True
        )

    def _ensure(self, kind, existing, create, plan):
        if existing:
            return existing[0]
        plan.append(f"{kind} {self.names.get(kind, self.run_name)}")
        if self.check_mode:
            return None
        res = create()
        self._tag(res)
        return res

    def _ensure_rules(self, group, plan):
        wanted = [("icmp", None, None)] + [("tcp", p, p) for p in self.params["tcp_ports"]]
        have = set()
        if group is not None:
            for rule in self.conn.network.security_group_rules(security_group_id=group.id):
                if rule.direction == "ingress" and rule.ether_type == "IPv4":
                    have.add((rule.protocol, rule.port_range_min, rule.port_range_max))
        for proto, low, high in wanted:
            if (proto, low, high) in have:
                continue
            plan.append(f"security group rule {proto} {low or ''}".rstrip())
            if self.check_mode or group is None:
                continue
            self.conn.network.create_security_group_rule(
                security_group_id=group.id,
                direction="ingress",
                ether_type="IPv4",
                protocol=proto,
                port_range_min=low,
                port_range_max=high,
                remote_ip_prefix="0.0.0.0/0",
            )

    def _ensure_network(self, plan):
        """Network, subnet, router (gateway + interface), security group, port, floating IP."""
        net = self.conn.network
        names = self.names
        ext = self._external_network()
        network = self._ensure(
            "network",
            self._run_resources(net.networks, name=names["network"]),
            lambda: net.create_network(name=names["network"], description=f"aptstack boot check {self.run_name}"),
            plan,
        )
        subnets = self._run_resources(net.subnets, name=names["subnet"])
        if subnets and subnets[0].cidr != self.params["cidr"]:
            raise CheckFailed(
                f"subnet {names['subnet']} of an earlier check has CIDR {subnets[0].cidr}, not {self.params['cidr']};"
                f" remove the run first (state=absent, run_name={self.run_name})"
            )
        subnet = self._ensure(
            "subnet",
            subnets,
            lambda: net.create_subnet(
                name=names["subnet"],
                network_id=network.id,
                ip_version=4,
                cidr=self.params["cidr"],
                is_dhcp_enabled=True,
            ),
            plan,
        )
        router = self._ensure(
            "router",
            self._run_resources(net.routers, name=names["router"]),
            lambda: net.create_router(name=names["router"], external_gateway_info={"network_id": ext.id}),
            plan,
        )
        if router is not None and not (router.external_gateway_info or {}).get("network_id"):
            plan.append(f"router gateway on {ext.name}")
            if not self.check_mode:
                router = net.update_router(router, external_gateway_info={"network_id": ext.id})
        if router is not None and subnet is not None:
            attached = any(
                any(ip.get("subnet_id") == subnet.id for ip in port.fixed_ips or [])
                for port in net.ports(device_id=router.id)
                if port.device_owner in ROUTER_INTERFACE_OWNERS
            )
            if not attached:
                plan.append("router interface")
                if not self.check_mode:
                    net.add_interface_to_router(router, subnet_id=subnet.id)
        elif not self.check_mode:
            raise CheckFailed("router or subnet missing after creation")
        else:
            plan.append("router interface")
        group = self._ensure(
            "security_group",
            self._run_resources(net.security_groups, name=names["security_group"]),
            lambda: net.create_security_group(
                name=names["security_group"], description=f"aptstack boot check {self.run_name}"
            ),
            plan,
        )
        self._ensure_rules(group, plan)
        if network is not None:
            network = net.get_network(network.id)
        return {"network": network, "subnet": subnet, "router": router, "group": group, "external": ext}

    def _ensure_server_port(self, target, res, plan):
        """The port and floating IP of the server for one target (None: the scheduler's pick)."""
        net = self.conn.network
        port_name = server_names(self.run_name, target)["port"]
        port = None
        if res["network"] is not None:
            port = self._first([p for p in self._run_resources(net.ports, name=port_name) if p.name == port_name])
        if port is None:
            plan.append(f"port {port_name}")
            if not self.check_mode:
                port = net.create_port(
                    name=port_name,
                    network_id=res["network"].id,
                    fixed_ips=[{"subnet_id": res["subnet"].id}],
                    security_group_ids=[res["group"].id],
                )
                self._tag(port)
        fips = self._floating_ips(port_ids={port.id} if port is not None else set())
        fip = self._first([f for f in fips if port is not None and f.port_id == port.id])
        if fip is None:
            spare = self._first([f for f in fips if not f.port_id])
            if spare is not None:
                plan.append(f"floating IP association for {port_name}")
                if not self.check_mode:
                    fip = net.update_ip(spare, port_id=port.id)
            else:
                plan.append(f"floating IP for {port_name}")
                if not self.check_mode:
                    fip = net.create_ip(
                        floating_network_id=res["external"].id, port_id=port.id, description=self.names["floating_ip"]
                    )
                    self._tag(fip)
        return port, fip

    # ----------------------------------------------------------------- present: server

    def _console_text(self, server_id):
        try:
            out = self.conn.compute.get_server_console_output(server_id)
        except self.sdk.exceptions.SDKException as exc:
            self.debug(f"console log not available yet: {exc}")
            return ""
        if isinstance(out, dict):
            return out.get("output") or ""
        return str(out or "")

    def _port_state(self, port_id):
        if not port_id:
            return {}
        port = self.conn.network.get_port(port_id)
        data = self._as_dict(port)
        # The SDK names the binding attributes binding_*; Neutron calls them binding:*.
        for key in ("vif_type", "host_id", "vif_details"):
            data.setdefault(f"binding:{key}", data.get(f"binding_{key}"))
        return port_state(data)

    def _hypervisors(self):
        """Nova's hypervisors as plain dicts (name, host, host_ip, state, status)."""
        try:
            return [
                {
                    "name": hyp.name,
                    "host": (hyp.service_details or {}).get("host"),
                    "host_ip": getattr(hyp, "host_ip", None),
                    "state": hyp.state,
                    "status": hyp.status,
                }
                for hyp in self.conn.compute.hypervisors(details=True)
            ]
        except self.sdk.exceptions.SDKException as exc:
            raise CheckFailed(f"cannot list the hypervisors: {exc}") from exc

    def _placement(self, hypervisors):
        """The targets in order, each with the availability zone that pins its server (None: any host)."""
        targets = self.params["target_hosts"]
        if not targets:
            return [(None, None)]
        placement, errors = place_targets(self.params["inventory_hosts"], targets, hypervisors)
        if errors:
            raise CheckFailed("; ".join(errors))
        # nova:<host> pins the server to that compute host (admin only).
        return [(target, f"nova:{placement[target]['host'] or placement[target]['name']}") for target in targets]

    def _server_info(self, server, res, port, fip, hypervisors, image, flavor):
        fixed = [ip.get("ip_address") for ip in (port.fixed_ips or [])]
        hyp_ip = next((h["host_ip"] for h in hypervisors if h["name"] == server.hypervisor_hostname), None)
        return {
            "id": server.id,
            "name": server.name,
            "status": server.status,
            "host": server.compute_host,
            "hypervisor_hostname": server.hypervisor_hostname,
            "hypervisor_ip": hyp_ip,
            "inventory_host": match_inventory_host(
                self.params["inventory_hosts"], server.compute_host, server.hypervisor_hostname, hyp_ip
            ),
            "fixed_ip": fixed[0] if fixed else None,
            "floating_ip": fip.floating_ip_address if fip is not None else None,
            "network_id": res["network"].id,
            "subnet_id": res["subnet"].id,
            "port_id": port.id,
            "router_id": res["router"].id,
            "security_group_id": res["group"].id,
            "mtu": res["network"].mtu,
            "image_id": image.id,
            "flavor_id": flavor.id,
        }

    def _fail_with_details(self, msg, result, server_id=None, port_id=None, parsed=None, console=None):
        """Fail with the fault, console tail and port binding of the server that failed."""
        fault = None
        status = None
        if server_id:
            server = self.conn.compute.find_server(server_id, ignore_missing=True)
            if server is not None:
                status = server.status
                fault = dict(server.fault) if server.fault else None
                if fault and len(str(fault.get("details") or "")) > 1500:
                    # Nova's traceback; its end names the exception.
                    fault["details"] = "..." + str(fault["details"])[-1500:]
                result["server"] = {
                    "id": server.id, "name": server.name, "status": server.status, "host": server.compute_host,
                    "hypervisor_hostname": server.hypervisor_hostname,
                }  # fmt: skip
            if console is None:
                console = self._console_text(server_id)
        try:
            port = self._port_state(port_id)
        except self.sdk.exceptions.SDKException:
            port = {}
        if parsed is None and console:
            parsed = parse_console(console)
        console_info = dict(parsed or {})
        console_info["tail"] = tail(console, self.params["console_tail_lines"])
        hints = diagnose(status, fault, port, parsed)
        result.update(console=console_info, port=port, fault=fault, hints=hints)
        if hints:
            msg = f"{msg} ({'; '.join(hints)})"
        result["msg"] = msg
        self.fail_json(**result)

    def _remove_old_servers(self, deleted):
        """A server of an earlier check (a kept one) goes first, and its port with it: nova
        releases a port only some time after the server is gone, so it is not reused."""
        self._delete_servers(deleted)
        if not deleted:
            return
        names = {server_names(self.run_name, t)["port"] for t in [None, *self.params["target_hosts"]]}
        ports = []
        for name in names:
            ports.extend(self._run_resources(self.conn.network.ports, name=name))
        self._delete_each("port", unique_by_id(ports), self.conn.network.delete_port, deleted)

    def _wait_active(self, booting, result):
        """Wait until every server is ACTIVE; fail on the first one in ERROR or late."""
        pending = dict(booting)
        while pending:
            for server_id, entry in list(pending.items()):
                server = self.conn.compute.get_server(server_id)
                entry["server"] = server
                if server.status == "ACTIVE":
                    entry["active_s"] = round_seconds(time.monotonic() - entry["t_create"])
                    entry["t_active"] = time.monotonic()
                    del pending[server_id]
                elif server.status == "ERROR":
                    self._fail_with_details(
                        f"Server {server.id} ({entry['label']}) went to ERROR"
                        f" on host {server.compute_host or '(none)'}",
                        result, server.id, entry["port"].id,
                    )  # fmt: skip
                elif time.monotonic() > entry["t_create"] + self.params["boot_timeout"]:
                    self._fail_with_details(
                        f"Server {server.id} ({entry['label']}) is {server.status}"
                        f" (task {getattr(server, 'task_state', None)}),"
                        f" not ACTIVE, after {self.params['boot_timeout']} s",
                        result, server.id, entry["port"].id,
                    )  # fmt: skip
            if pending:
                time.sleep(1)

    def _wait_consoles(self, booting, result):
        """Wait until every guest printed its ready marker; fail on the first one late or stopped."""
        pending = dict(booting)
        while pending:
            for server_id, entry in list(pending.items()):
                console = self._console_text(server_id)
                entry["console"] = console
                entry["parsed"] = parse_console(console)
                if console_done(entry["parsed"]):
                    entry["console_s"] = round_seconds(time.monotonic() - entry["t_active"])
                    entry["ready_at"] = round(time.time(), 3)
                    del pending[server_id]
                    continue
                if time.monotonic() > entry["t_active"] + self.params["console_timeout"]:
                    self._fail_with_details(
                        f"The guest on {entry['server'].compute_host} did not print 'APTSTACK-GUEST ready' within"
                        f" {self.params['console_timeout']} s of becoming ACTIVE",
                        result, server_id, entry["port"].id, entry["parsed"], console,
                    )  # fmt: skip
                current = self.conn.compute.get_server(server_id)
                if current.status != "ACTIVE":
                    self._fail_with_details(
                        f"Server {server_id} ({entry['label']}) left ACTIVE ({current.status}) while booting",
                        result, server_id, entry["port"].id, entry["parsed"], console,
                    )  # fmt: skip
            if pending:
                time.sleep(1)

    def _present(self):
        started = time.monotonic()
        plan = []
        deleted = []
        result = {"changed": True, "run_name": self.run_name, "deleted": deleted, "servers": []}
        try:
            image = self.conn.image.find_image(self.params["image"], ignore_missing=True)
            if image is None and self.check_mode:
                plan.append(f"image {self.params['image']} (missing)")
            elif image is None:
                raise CheckFailed(f"image {self.params['image']!r} not found")
            hypervisors = self._hypervisors()
            placement = self._placement(hypervisors)
            flavor = self._ensure_flavor(plan)
            self._remove_old_servers(deleted)
            res = self._ensure_network(plan)
            ports = {target: self._ensure_server_port(target, res, plan) for target, _zone in placement}
        except CheckFailed as exc:
            self.fail_json(msg=f"Boot check {self.run_name}: {exc}", **result)
        if self.check_mode:
            plan.extend(f"server {server_names(self.run_name, target)['server']}" for target, _zone in placement)
            self.exit_json(changed=True, run_name=self.run_name, would_create=plan, deleted=deleted)
        timings = {"setup_s": round_seconds(time.monotonic() - started)}
        result["timings"] = timings

        # Every server is requested before any is waited for, so they boot side by side.
        booting = {}
        for target, zone in placement:
            port, fip = ports[target]
            label = f"for {target}" if target else "placed by the scheduler"
            create = dict(
                name=server_names(self.run_name, target)["server"],
                image_id=image.id,
                flavor_id=flavor.id,
                networks=[{"port": port.id}],
                metadata={RUN_METADATA_KEY: self.run_name},
            )
            if zone:
                create["availability_zone"] = zone
            created_at = time.time()
            t_create = time.monotonic()
            try:
                server = self.conn.compute.create_server(**create)
            except self.sdk.exceptions.SDKException as exc:
                self._fail_with_details(f"The server create request {label} failed: {exc}", result, None, port.id)
            booting[server.id] = {
                "target": target, "label": label, "port": port, "fip": fip, "server": server,
                "created_at": round(created_at, 3), "t_create": t_create,
            }  # fmt: skip
        self._wait_active(booting, result)
        if self.params["wait_console"]:
            self._wait_consoles(booting, result)

        hints = []
        for entry in booting.values():
            server = entry["server"]
            info = self._server_info(server, res, entry["port"], entry["fip"], hypervisors, image, flavor)
            info["target_host"] = entry["target"]
            parsed = entry.get("parsed") or parse_console("")
            console_info = dict(parsed)
            console_info["problems"] = (
                console_problems(parsed, info["fixed_ip"], info["id"]) if self.params["wait_console"] else []
            )
            console_info["tail"] = tail(entry.get("console", ""), self.params["console_tail_lines"])
            port = self._port_state(entry["port"].id)
            server_hints = diagnose(server.status, None, port, parsed if self.params["wait_console"] else None)
            hints.extend(f"{info['host']}: {hint}" for hint in server_hints)
            info.update(
                console=console_info,
                port=port,
                timings={
                    "created_at": entry["created_at"],
                    "active_s": entry.get("active_s"),
                    "console_s": entry.get("console_s"),
                    "ready_at": entry.get("ready_at"),
                },
            )
            result["servers"].append(info)
        timings["total_s"] = round_seconds(time.monotonic() - started)
        result.update(hints=hints, created=plan)
        return result

    # ----------------------------------------------------------------- entry

    def run(self):
        self._setup_names()
        if self.params["state"] == "absent":
            self.exit_json(**self._absent())
        self.exit_json(**self._present())


def main():
    module = BootCheckModule()
    module()


if __name__ == "__main__":
    main()
