# Copyright: aptstack developers
# Apache License 2.0
"""One echo request at a time, optionally in a network namespace (used by wait_ping)."""

from __future__ import annotations


def ping_argv(address, namespace=None, wait_seconds=1, ping="ping"):
    """The command that sends one echo request, optionally inside a network namespace."""
    argv = [ping, "-c", "1", "-W", str(max(1, int(wait_seconds))), "-q", address]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    return argv


def ping_failure_message(address, namespace, host, timeout, attempts, namespace_seen=True, last_error=None):
    """The message of a ping that never got an answer."""
    where = f" in namespace {namespace}" if namespace else ""
    msg = f"No answer from {address}{where} on host {host} within {timeout} s ({attempts} attempts)"
    if namespace and not namespace_seen:
        msg += (
            f"; the namespace {namespace} never appeared on {host}"
            " (neutron-ovn-metadata-agent creates it when a port of that network is bound there)"
        )
    elif last_error:
        msg += f"; last error: {last_error}"
    return msg
