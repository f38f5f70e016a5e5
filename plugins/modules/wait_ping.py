#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Ping an address until it answers or a timeout passes."""

from __future__ import annotations

DOCUMENTATION = r"""
module: wait_ping
short_description: Ping an address until it answers, optionally inside a network namespace
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Sends one ICMP echo request at a time to O(address) until one is answered or O(timeout) seconds
    have passed, and returns how long that took.
  - With O(namespace) the requests are sent from inside that network namespace (C(ip netns exec)),
    for example C(ovnmeta-<network id>), the OVN metadata namespace that has a leg in a tenant network
    on each compute host that runs a server of that network. The module also waits for the namespace
    to appear, and stops when a namespace it has seen goes away (its network's last port on the
    host was deleted), so a ping started before the server exists ends with the check's cleanup.
  - Fails with a message naming the address, the namespace and the host when nothing answered.
  - Needs no cloud SDK; only C(ping) (iputils or busybox) and, with O(namespace), C(ip).
options:
  address:
    description: IPv4 or IPv6 address (or host name) to ping.
    type: str
    required: true
  namespace:
    description: Network namespace to ping from; empty pings from the host's own stack.
    type: str
    default: ""
  timeout:
    description: Seconds to keep trying.
    type: int
    default: 120
  interval:
    description: Seconds between the start of two attempts.
    type: float
    default: 1.0
  reply_wait:
    description:
      - Seconds each attempt waits for its reply; a fraction of a second needs iputils' C(ping).
    type: float
    default: 1.0
attributes:
  check_mode:
    support: full
    description: Pinging changes nothing, so it runs in check mode too.
notes:
  - Never reports a change.
  - Run it on the host that should reach the address, with C(delegate_to) when that is another host.
"""

EXAMPLES = r"""
- name: Ping the server's fixed address from its network's metadata namespace
  aptstack.openstack.wait_ping:
    address: 192.168.222.17
    namespace: ovnmeta-0b1c5bde-8f57-4f0f-a3f5-5c8c0a3a7a61
    timeout: 120
  delegate_to: compute1
  register: fixed_ping

- name: Ping the floating address from the gateway host
  aptstack.openstack.wait_ping:
    address: 172.24.4.150
  register: floating_ping

- name: Show how long the first ping took
  ansible.builtin.debug:
    msg: "answered after {{ fixed_ping.elapsed }} s"
"""

RETURN = r"""
elapsed:
  description: Seconds from the start of the module to the first answer.
  returned: success
  type: float
  sample: 3.2
answered_at:
  description: Epoch time of the first answer.
  returned: success
  type: float
attempts:
  description: Echo requests sent.
  returned: always
  type: int
host:
  description: Host name of the machine that pinged.
  returned: always
  type: str
address:
  description: The address pinged.
  returned: always
  type: str
namespace:
  description: The namespace pinged from (empty for none).
  returned: always
  type: str
rtt_ms:
  description: Round-trip time of the answered request, when ping printed it.
  returned: success
  type: float
"""

import os
import re
import socket
import time

from ansible.module_utils.basic import AnsibleModule

# This module imports nothing of the collection's module_utils: the verify role runs it as an async
# job, and under mitogen (the driver's strategy) an async job that imports a collection's
# module_utils hangs in its forked child (mitogen 0.3.54), never writing its result.


def ping_argv(address, namespace=None, wait_seconds=1, ping="ping"):
    """The command that sends one echo request, optionally inside a network namespace."""
    # iputils takes a fraction of a second; busybox's ping only whole seconds.
    wait = float(wait_seconds) if float(wait_seconds) > 0 else 1.0
    wait_text = f"{wait:g}" if wait < 1 else str(int(wait))
    argv = [ping, "-c", "1", "-W", wait_text, "-q", address]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    return argv


def ping_failure_message(
    address, namespace, host, timeout, attempts, namespace_seen=True, last_error=None, namespace_gone=False
):
    """The message of a ping that never got an answer."""
    where = f" in namespace {namespace}" if namespace else ""
    if namespace_gone:
        return (
            f"No answer from {address}{where} on host {host} ({attempts} attempts) before the namespace"
            " went away (the network's last port on the host was deleted)"
        )
    msg = f"No answer from {address}{where} on host {host} within {timeout} s ({attempts} attempts)"
    if namespace and not namespace_seen:
        msg += (
            f"; the namespace {namespace} never appeared on {host}"
            " (neutron-ovn-metadata-agent creates it when a port of that network is bound there)"
        )
    elif last_error:
        msg += f"; last error: {last_error}"
    return msg


_RTT = re.compile(r"= [\d.]+/([\d.]+)/")


def namespace_exists(namespace):
    """Whether ``ip netns`` knows the namespace (it keeps a handle under /run/netns)."""
    return os.path.exists(os.path.join("/run/netns", namespace)) or os.path.exists(
        os.path.join("/var/run/netns", namespace)
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="str", required=True),
            namespace=dict(type="str", default=""),
            timeout=dict(type="int", default=120),
            interval=dict(type="float", default=1.0),
            reply_wait=dict(type="float", default=1.0),
        ),
        supports_check_mode=True,
    )
    address = module.params["address"]
    namespace = module.params["namespace"] or ""
    timeout = module.params["timeout"]
    host = socket.gethostname()
    ping = module.get_bin_path("ping", required=True)
    if namespace:
        module.get_bin_path("ip", required=True)

    started = time.monotonic()
    deadline = started + timeout
    attempts = 0
    namespace_seen = not namespace
    namespace_gone = False
    last_error = None
    result = dict(changed=False, address=address, namespace=namespace, host=host)
    while True:
        attempt_start = time.monotonic()
        if namespace and not namespace_seen:
            namespace_seen = namespace_exists(namespace)
        elif namespace and not namespace_exists(namespace):
            namespace_gone = True
            break
        if namespace_seen:
            attempts += 1
            argv = ping_argv(address, namespace or None, module.params["reply_wait"], ping=ping)
            rc, out, err = module.run_command(argv)
            if rc == 0:
                match = _RTT.search(out)
                result.update(
                    elapsed=round(time.monotonic() - started, 1),
                    answered_at=round(time.time(), 3),
                    attempts=attempts,
                    rtt_ms=float(match.group(1)) if match else None,
                )
                module.exit_json(**result)
            last_error = (err or out).strip().splitlines()[-1] if (err or out).strip() else f"ping exited {rc}"
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(max(0.0, min(module.params["interval"] - (now - attempt_start), deadline - now)))

    result["attempts"] = attempts
    result["elapsed"] = round(time.monotonic() - started, 1)
    module.fail_json(
        msg=ping_failure_message(
            address, namespace, host, timeout, attempts, namespace_seen, last_error, namespace_gone
        ),
        **result,
    )


if __name__ == "__main__":
    main()
