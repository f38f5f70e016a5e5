#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Time RPC round trips to a running OpenStack service through the installed oslo.messaging."""

from __future__ import annotations

DOCUMENTATION = r"""
module: rpc_probe
short_description: Time RPC calls to an OpenStack service with the host's own oslo.messaging
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Sends O(calls) RPC calls, one after the other, to the built-in C(oslo_rpc_server_ping) endpoint of
    the servers on O(topic) in O(exchange), and returns how long each took, from the call to its
    answer in the caller.
  - Every RPC call an OpenStack service makes (nova-compute asking nova-conductor, nova-api asking
    nova-compute) goes through the same client code, so the figure is what each such call costs on
    this host. The message itself takes milliseconds through RabbitMQ; anything above that is the
    client waiting for a reply that has already arrived.
  - Uses the Python 3 and C(oslo.messaging) of the host it runs on, that is the packages under test,
    and reads the transport URL from O(config_files). The URL and its password are never returned,
    and are masked in error messages.
  - The servers answer only with C([DEFAULT] rpc_ping_enabled = true) in their configuration.
options:
  config_files:
    description: Configuration files that hold C([DEFAULT] transport_url), read in this order.
    type: list
    elements: path
    default: [/etc/nova/nova.conf]
  exchange:
    description: Exchange the servers listen on (the service's C(control_exchange)).
    type: str
    default: nova
  topic:
    description: Topic of the servers to call, for example C(conductor) or C(scheduler).
    type: str
    default: conductor
  calls:
    description: Number of calls to time, after one untimed call that sets up the reply queue.
    type: int
    default: 5
  timeout:
    description: Seconds each call may take before the module fails.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: A ping call changes nothing, so it runs in check mode too.
notes:
  - Never reports a change.
  - Run it on a host that has the service's configuration and C(python3-oslo.messaging), as root or a
    user that can read O(config_files).
"""

EXAMPLES = r"""
- name: Time calls from this host to nova-conductor
  aptstack.openstack.rpc_probe:
    config_files: [/etc/nova/nova.conf]
    exchange: nova
    topic: conductor
  register: rpc

- name: Show the median round trip
  ansible.builtin.debug:
    msg: "nova-conductor answers a call in {{ rpc.median_ms }} ms (oslo.messaging {{ rpc.oslo_messaging_version }})"
"""

RETURN = r"""
round_trips_ms:
  description: Milliseconds each timed call took, in order.
  returned: success
  type: list
  elements: float
  sample: [503.1, 502.7, 504.0, 502.9, 503.3]
median_ms:
  description: Median of RV(round_trips_ms).
  returned: success
  type: float
  sample: 503.1
oslo_messaging_version:
  description: Version of the oslo.messaging library that made the calls.
  returned: always
  type: str
  sample: 17.3.0
exchange:
  description: The exchange called.
  returned: always
  type: str
topic:
  description: The topic called.
  returned: always
  type: str
"""

import re
import statistics
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import oslo_messaging
    from oslo_config import cfg

    IMPORT_ERROR = None
except ImportError:
    IMPORT_ERROR = traceback.format_exc()

PING_METHOD = "oslo_rpc_server_ping"
# user:password@ in a transport URL, of each host of it (rabbit://u:p@host1:5672,u:p@host2:5672/vhost).
_CREDENTIALS = re.compile(r"(//|,)[^/@\s,]*@")


def mask_credentials(text):
    """The text with the credentials of any URL in it replaced by ***."""
    return _CREDENTIALS.sub(r"\1***@", str(text))


def median_ms(durations_s):
    """Median of durations in seconds, in milliseconds with one decimal."""
    return round(statistics.median(durations_s) * 1000, 1)


def failure_message(exchange, topic, error):
    """One line: which call failed, the error's first line with credentials masked, and a hint."""
    lines = mask_credentials(error).strip().splitlines()
    message = f"RPC call {PING_METHOD} to topic {topic} in exchange {exchange} failed: {type(error).__name__}"
    message += f": {lines[0]}" if lines else ""
    if lines and PING_METHOD in lines[0]:
        message += " (do the servers have [DEFAULT] rpc_ping_enabled = true?)"
    return message


def package_version():
    """The installed oslo.messaging's version (its distribution metadata), or ''."""
    try:
        from importlib.metadata import version

        return version("oslo.messaging")
    except Exception:  # the version is informative only
        return ""


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_files=dict(type="list", elements="path", default=["/etc/nova/nova.conf"]),
            exchange=dict(type="str", default="nova"),
            topic=dict(type="str", default="conductor"),
            calls=dict(type="int", default=5),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, exchange=params["exchange"], topic=params["topic"], oslo_messaging_version="")
    if IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("oslo.messaging"), exception=IMPORT_ERROR, **result)
    result["oslo_messaging_version"] = package_version()
    if params["calls"] < 1 or params["timeout"] < 1:
        module.fail_json(msg="calls and timeout must be at least 1", **result)

    # The global configuration, as in the services: oslo.messaging registers some of its options
    # (the metrics group) on it when imported.
    conf = cfg.CONF
    transport = None
    try:
        conf(args=[], project="aptstack-rpc-probe", default_config_files=params["config_files"])
        transport = oslo_messaging.get_rpc_transport(conf)
        target = oslo_messaging.Target(exchange=params["exchange"], topic=params["topic"])
        client = oslo_messaging.get_rpc_client(transport, target, timeout=params["timeout"])
        client.call({}, PING_METHOD)
        durations = []
        for _ in range(params["calls"]):
            started = time.monotonic()
            client.call({}, PING_METHOD)
            durations.append(time.monotonic() - started)
    except Exception as error:  # any failure is reported as one line
        module.fail_json(msg=failure_message(params["exchange"], params["topic"], error), **result)
    finally:
        if transport is not None:
            transport.cleanup()
    result.update(round_trips_ms=[round(seconds * 1000, 1) for seconds in durations], median_ms=median_ms(durations))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
