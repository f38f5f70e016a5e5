#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Boot the aptstack test guest on ports made beforehand and wait for its console markers."""

from __future__ import annotations

DOCUMENTATION = r"""
module: boot_check
short_description: Boot the aptstack test guest on given ports, one per compute host, and read its console
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Boots one server from O(image) with O(flavor) on each port of O(servers), named after O(run_name)
    and given the metadata C(aptstack_run=<run_name>). A server with a C(target) is pinned to that
    inventory host's nova hypervisor (availability zone C(nova:<compute host>)); one without is placed by
    the scheduler.
  - The network, subnet, router, security group, ports, floating IPs and flavor are made beforehand (the
    C(aptstack.openstack.verify) role makes them with C(openstack.cloud) modules);
    M(aptstack.openstack.boot_check_cleanup) removes them and the servers again.
  - Before any server is requested it matches each target to a nova hypervisor (by name or address) and
    fails naming every target that has none or whose hypervisor is down or disabled, and it fails when a
    port is already in use (a server of an earlier run that was kept).
  - All servers are requested before any is waited for; then it waits for C(ACTIVE) and (bounded by
    O(console_timeout)) until each guest prints C(APTSTACK-GUEST ready) on its console.
  - It returns, per server, its id, compute host, hypervisor, fixed and floating addresses, network id,
    what the guest reported (DHCP address, instance uuid from the metadata service) with any mismatch
    in C(console.problems), its port's binding state and timings.
  - On failure (a server in C(ERROR), not C(ACTIVE) in time, no C(ready) marker in time, a server that
    left C(ACTIVE)) the failure result holds the failing server's fault, the console log tail and the
    port's binding state (C(binding:vif_type), C(binding:host_id), status), and C(hints) on what they
    mean.
options:
  run_name:
    description:
      - Names the servers (C(<run_name>-server[-<target>])) and goes into their metadata, so that
        M(aptstack.openstack.boot_check_cleanup) with the same name finds them.
      - 1-48 letters, digits, C(.), C(_) or C(-).
    type: str
    required: true
  image:
    description: Name or ID of the bootable guest image (the C(ami) image of M(aptstack.openstack.guest_image)).
    type: str
    required: true
  flavor:
    description: Name or ID of the flavor to boot with.
    type: str
    required: true
  servers:
    description: One entry per server to boot, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      target:
        description:
          - Key of O(inventory_hosts) whose nova hypervisor the server is pinned to.
          - Unset lets the scheduler place the server.
        type: str
      port:
        description: ID of the port the server gets (on the check's tenant network).
        type: str
        required: true
      floating_ip:
        description: The floating address bound to that port, returned as RV(servers[].floating_ip).
        type: str
  boot_timeout:
    description: Seconds to wait for a server to become C(ACTIVE).
    type: int
    default: 300
  console_timeout:
    description:
      - Seconds to wait, once a server is C(ACTIVE), for the C(ready) marker on its console.
      - The guest retries DHCP and the metadata service for up to a minute each before it reports a
        failure and prints C(ready), so keep this above two minutes.
    type: int
    default: 240
  wait_console:
    description: Wait for the console markers. When false the module returns once the servers are C(ACTIVE).
    type: bool
    default: true
  console_tail_lines:
    description: Lines of the console log returned in C(console.tail).
    type: int
    default: 40
  inventory_hosts:
    description:
      - Inventory hosts that may run a server, each with a list of its other names and addresses.
        The host matching the server's compute host, hypervisor name or hypervisor IP is returned as
        C(servers[].inventory_host).
    type: dict
    default: {}
extends_documentation_fragment:
  - openstack.cloud.openstack
notes:
  - Runs where the cloud's API is reachable (the controller) with admin credentials (pinning to a host
    is an admin action).
  - Supports check mode; it then checks the placement, the image, the flavor and the ports and returns
    the servers it would boot in RV(would_boot).
  - The generic O(wait) and O(timeout) options are not used; see O(boot_timeout) and O(console_timeout).
"""

EXAMPLES = r"""
- name: Boot the test guest on the ports made before
  aptstack.openstack.boot_check:
    cloud: aptstack
    run_name: aptstack-verify
    image: "{{ guest.image_id }}"
    flavor: aptstack-verify
    inventory_hosts:
      compute1: [10.0.0.11]
      compute2: [10.0.0.12]
    servers:
      - {target: compute1, port: "{{ ports.results[0].port.id }}", floating_ip: 172.24.4.10}
      - {target: compute2, port: "{{ ports.results[1].port.id }}", floating_ip: 172.24.4.11}
  register: boot

- name: Ping each fixed address from the metadata namespace on its compute host
  aptstack.openstack.wait_ping:
    address: "{{ item.fixed_ip }}"
    namespace: "ovnmeta-{{ item.network_id }}"
  delegate_to: "{{ item.inventory_host }}"
  loop: "{{ boot.servers }}"
"""

RETURN = r"""
servers:
  description: The servers, in the order of O(servers).
  returned: success, not in check mode
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
      description: The C(target) the server was pinned to, or null.
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
      description: Fixed address of its port.
      type: str
    floating_ip:
      description: The C(floating_ip) given for it.
      type: str
    network_id:
      description: Tenant network ID (its metadata namespace is C(ovnmeta-<network_id>)).
      type: str
    port_id:
      description: The server's port ID.
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
      description: >-
        Binding state of the server's port when the server became C(ACTIVE) (Neutron's C(binding:*)
        attributes as C(binding_*)).
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
          description: C(ACTIVE) to the C(ready) marker (polled every half second).
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
  returned: success, and on failure of a server
  type: list
  elements: str
timings:
  description: Seconds per phase of the whole module (per server timings are in RV(servers)).
  returned: success, not in check mode
  type: dict
  contains:
    lookup_s:
      description: Hypervisors, image, flavor and ports looked up before the first create request.
      type: float
    total_s:
      description: The whole module.
      type: float
would_boot:
  description: Names of the servers the module would boot.
  returned: check mode
  type: list
  elements: str
"""

import time

from ansible_collections.aptstack.openstack.plugins.module_utils.boot_check import (
    RUN_METADATA_KEY,
    check_run_name,
    diagnose,
    hypervisor_facts,
    match_inventory_host,
    place_targets,
    port_state,
    server_names,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.guest_console import (
    console_done,
    console_problems,
    parse_console,
    tail,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.timing import round_seconds
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule

# Polling period while servers build and guests boot: half a second keeps the time from the
# guest's ready marker to the module's return short without flooding the API.
POLL_S = 0.5
# A booting server's status is read again only every few polls (the console is read every poll).
STATUS_EVERY_S = 5.0


class CheckFailed(Exception):
    """A failure of the check before any server is requested."""


class BootCheckModule(OpenStackModule):
    argument_spec = dict(
        run_name=dict(required=True),
        image=dict(required=True),
        flavor=dict(required=True),
        servers=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(target=dict(), port=dict(required=True), floating_ip=dict()),
        ),
        boot_timeout=dict(type="int", default=300),
        console_timeout=dict(type="int", default=240),
        wait_console=dict(type="bool", default=True),
        console_tail_lines=dict(type="int", default=40),
        inventory_hosts=dict(type="dict", default={}),
    )
    module_kwargs = dict(supports_check_mode=True)

    # ----------------------------------------------------------------- cloud reads

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
        data = port.to_dict(computed=False) if hasattr(port, "to_dict") else dict(port)
        # The SDK names the binding attributes binding_*; Neutron calls them binding:*.
        for key in ("vif_type", "host_id", "vif_details"):
            data.setdefault(f"binding:{key}", data.get(f"binding_{key}"))
        return port_state(data)

    def _hypervisors(self):
        """Nova's hypervisors as plain dicts (name, host, host_ip, state, status)."""
        try:
            hypervisors = self.conn.compute.hypervisors(details=True)
            return [hypervisor_facts(hyp.to_dict(computed=False)) for hyp in hypervisors]
        except self.sdk.exceptions.SDKException as exc:
            raise CheckFailed(f"cannot list the hypervisors: {exc}") from exc

    def _zones(self, hypervisors):
        """Per server, the availability zone that pins it (None: any host)."""
        targets = [entry["target"] for entry in self.params["servers"] if entry["target"]]
        if not targets:
            return [None] * len(self.params["servers"])
        placement, errors = place_targets(self.params["inventory_hosts"], targets, hypervisors)
        if errors:
            raise CheckFailed("; ".join(errors))
        # nova:<host> pins the server to that compute host (admin only).
        return [
            f"nova:{placement[t]['host'] or placement[t]['name']}" if t else None
            for t in (entry["target"] for entry in self.params["servers"])
        ]

    def _ports(self):
        """The given ports (fixed address, network and its MTU); fails on one that a server holds."""
        ports, mtus = [], {}
        for entry in self.params["servers"]:
            port = self.conn.network.find_port(entry["port"], ignore_missing=True)
            if port is None:
                raise CheckFailed(f"port {entry['port']} not found")
            if port.device_id:
                raise CheckFailed(
                    f"port {port.name or port.id} is in use by {port.device_owner or 'a device'} {port.device_id}"
                    f" (a server kept by an earlier run?); remove the run first (boot_check_cleanup)"
                )
            if port.network_id not in mtus:
                mtus[port.network_id] = self.conn.network.get_network(port.network_id).mtu
            fixed = [ip.get("ip_address") for ip in (port.fixed_ips or [])]
            ports.append({"id": port.id, "fixed_ip": fixed[0] if fixed else None, "network_id": port.network_id})
        for port in ports:
            port["mtu"] = mtus[port["network_id"]]
        return ports

    # ----------------------------------------------------------------- failure

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

    # ----------------------------------------------------------------- waiting

    def _wait_active(self, booting, result):
        """Wait until every server is ACTIVE; fail on the first one in ERROR or late.

        The port's binding is read as each server turns ACTIVE, while the others (or the
        guests) are still booting, so the report costs no round trip after the last marker.
        """
        pending = dict(booting)
        while pending:
            for server_id, entry in list(pending.items()):
                server = self.conn.compute.get_server(server_id)
                entry["server"] = server
                if server.status == "ACTIVE":
                    entry["t_active"] = time.monotonic()
                    entry["active_s"] = round_seconds(entry["t_active"] - entry["t_create"])
                    entry["port_state"] = self._port_state(entry["port"]["id"])
                    del pending[server_id]
                elif server.status == "ERROR":
                    self._fail_with_details(
                        f"Server {server.id} ({entry['label']}) went to ERROR"
                        f" on host {server.compute_host or '(none)'}",
                        result, server.id, entry["port"]["id"],
                    )  # fmt: skip
                elif time.monotonic() > entry["t_create"] + self.params["boot_timeout"]:
                    self._fail_with_details(
                        f"Server {server.id} ({entry['label']}) is {server.status}"
                        f" (task {getattr(server, 'task_state', None)}),"
                        f" not ACTIVE, after {self.params['boot_timeout']} s",
                        result, server.id, entry["port"]["id"],
                    )  # fmt: skip
            if pending:
                time.sleep(POLL_S)

    def _wait_consoles(self, booting, result):
        """Wait until every guest printed its ready marker; fail on the first one late or stopped."""
        pending = dict(booting)
        while pending:
            for server_id, entry in list(pending.items()):
                console = self._console_text(server_id)
                entry["console"] = console
                entry["parsed"] = parse_console(console)
                now = time.monotonic()
                if console_done(entry["parsed"]):
                    entry["console_s"] = round_seconds(now - entry["t_active"])
                    entry["ready_at"] = round(time.time(), 3)
                    del pending[server_id]
                    continue
                if now > entry["t_active"] + self.params["console_timeout"]:
                    self._fail_with_details(
                        f"The guest on {entry['server'].compute_host} did not print 'APTSTACK-GUEST ready' within"
                        f" {self.params['console_timeout']} s of becoming ACTIVE",
                        result, server_id, entry["port"]["id"], entry["parsed"], console,
                    )  # fmt: skip
                if now - entry.setdefault("t_status", entry["t_active"]) >= STATUS_EVERY_S:
                    entry["t_status"] = now
                    current = self.conn.compute.get_server(server_id)
                    if current.status != "ACTIVE":
                        self._fail_with_details(
                            f"Server {server_id} ({entry['label']}) left ACTIVE ({current.status}) while booting",
                            result, server_id, entry["port"]["id"], entry["parsed"], console,
                        )  # fmt: skip
            if pending:
                time.sleep(POLL_S)

    # ----------------------------------------------------------------- boot

    def _server_info(self, entry, hypervisors, image, flavor):
        server, port = entry["server"], entry["port"]
        hyp_ip = next((h["host_ip"] for h in hypervisors if h["name"] == server.hypervisor_hostname), None)
        parsed = entry.get("parsed") or parse_console("")
        console_info = dict(parsed)
        console_info["problems"] = (
            console_problems(parsed, port["fixed_ip"], server.id) if self.params["wait_console"] else []
        )
        console_info["tail"] = tail(entry.get("console", ""), self.params["console_tail_lines"])
        return {
            "id": server.id,
            "name": server.name,
            "status": server.status,
            "target_host": entry["target"],
            "host": server.compute_host,
            "hypervisor_hostname": server.hypervisor_hostname,
            "hypervisor_ip": hyp_ip,
            "inventory_host": match_inventory_host(
                self.params["inventory_hosts"], server.compute_host, server.hypervisor_hostname, hyp_ip
            ),
            "fixed_ip": port["fixed_ip"],
            "floating_ip": entry["floating_ip"],
            "network_id": port["network_id"],
            "port_id": port["id"],
            "mtu": port["mtu"],
            "image_id": image.id,
            "flavor_id": flavor.id,
            "console": console_info,
            "port": entry.get("port_state") or {},
            "timings": {
                "created_at": entry["created_at"],
                "active_s": entry.get("active_s"),
                "console_s": entry.get("console_s"),
                "ready_at": entry.get("ready_at"),
            },
        }

    def run(self):
        run_name = self.params["run_name"]
        error = check_run_name(run_name)
        if error:
            self.fail_json(msg=error)
        started = time.monotonic()
        result = {"changed": False, "run_name": run_name, "servers": []}
        names = [server_names(run_name, entry["target"])["server"] for entry in self.params["servers"]]
        if len(set(names)) != len(names):
            self.fail_json(msg=f"Boot check {run_name}: two servers for the same target", **result)
        try:
            hypervisors = self._hypervisors()
            zones = self._zones(hypervisors)
            image = self.conn.image.find_image(self.params["image"], ignore_missing=True)
            if image is None:
                raise CheckFailed(f"image {self.params['image']!r} not found")
            flavor = self.conn.compute.find_flavor(self.params["flavor"], ignore_missing=True)
            if flavor is None:
                raise CheckFailed(f"flavor {self.params['flavor']!r} not found")
            ports = self._ports()
        except CheckFailed as exc:
            self.fail_json(msg=f"Boot check {run_name}: {exc}", **result)
        if self.check_mode:
            self.exit_json(changed=True, run_name=run_name, would_boot=names)
        timings = {"lookup_s": round_seconds(time.monotonic() - started)}
        result.update(changed=True, timings=timings)

        # Every server is requested before any is waited for, so they boot side by side.
        booting = {}
        for entry, zone, port, name in zip(self.params["servers"], zones, ports, names, strict=True):
            target = entry["target"]
            label = f"for {target}" if target else "placed by the scheduler"
            create = dict(
                name=name,
                image_id=image.id,
                flavor_id=flavor.id,
                networks=[{"port": port["id"]}],
                metadata={RUN_METADATA_KEY: run_name},
            )
            if zone:
                create["availability_zone"] = zone
            created_at = time.time()
            t_create = time.monotonic()
            try:
                server = self.conn.compute.create_server(**create)
            except self.sdk.exceptions.SDKException as exc:
                self._fail_with_details(f"The server create request {label} failed: {exc}", result, None, port["id"])
            booting[server.id] = {
                "target": target, "label": label, "port": port, "floating_ip": entry["floating_ip"],
                "server": server, "created_at": round(created_at, 3), "t_create": t_create,
            }  # fmt: skip
        self._wait_active(booting, result)
        if self.params["wait_console"]:
            self._wait_consoles(booting, result)

        hints = []
        for entry in booting.values():
            info = self._server_info(entry, hypervisors, image, flavor)
            parsed = entry.get("parsed") if self.params["wait_console"] else None
            hints.extend(f"{info['host']}: {hint}" for hint in diagnose(info["status"], None, info["port"], parsed))
            result["servers"].append(info)
        timings["total_s"] = round_seconds(time.monotonic() - started)
        result["hints"] = hints
        self.exit_json(**result)


def main():
    module = BootCheckModule()
    module()


if __name__ == "__main__":
    main()
