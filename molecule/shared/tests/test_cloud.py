"""Checks of a deployed cloud, run on the controller through the lab inventory."""

import json
import time

import pytest

CLOUD = "--os-cloud aptstack"


def openstack(host, args):
    result = host.run(f"openstack {CLOUD} {args} -f json")
    assert result.rc == 0, f"openstack {args} failed: {result.stderr}"
    return json.loads(result.stdout)


def test_token_issue(host):
    token = openstack(host, "token issue")
    assert token["id"]
    assert token["expires"]


def test_endpoints_for_every_service(host):
    endpoints = openstack(host, "endpoint list")
    types = {e["Service Type"] for e in endpoints}
    assert {"identity", "image", "placement", "compute", "network"} <= types
    for endpoint in endpoints:
        assert endpoint["Enabled"], endpoint


def test_compute_services_up(host):
    services = openstack(host, "compute service list")
    binaries = {s["Binary"]: s for s in services}
    for binary in ("nova-conductor", "nova-scheduler", "nova-compute"):
        assert binary in binaries, f"{binary} missing from {sorted(binaries)}"
    for service in services:
        assert service["State"] == "up", service
        assert service["Status"] == "enabled", service


# How long a listing may go on showing a live agent dead. neutron (python3-neutron 2:28.0.2) lists
# an OVN agent dead when it is two liveness rounds behind and its last answer is older than
# agent_down_time (75 s). Each listing starts a round (at most every agent_down_time / 2). The
# metadata agent answers every SB_Global change after a random 0-10 s with the round that change
# carried, so a late answer to an older change can leave it one round behind; the listing that
# starts the next round then shows it dead until it answers, for up to 10 s. An agent that does
# not answer stays dead.
AGENTS_ANSWER_SECONDS = 30


def test_network_agents_alive(host):
    deadline = time.monotonic() + AGENTS_ANSWER_SECONDS
    while True:
        agents = openstack(host, "network agent list")
        dead = sorted(f"{a['Agent Type']} on {a['Host']}" for a in agents if a["Alive"] not in (True, ":-)"))
        if not dead or time.monotonic() > deadline:
            break
        time.sleep(3)
    kinds = {a["Agent Type"] for a in agents}
    assert any("OVN Controller" in kind for kind in kinds), kinds
    assert any("Metadata" in kind for kind in kinds), kinds
    assert not dead, f"the network API lists these agents dead for {AGENTS_ANSWER_SECONDS} s: {dead}"


def test_hypervisors(host):
    hypervisors = openstack(host, "hypervisor list --long")
    compute_hosts = host.ansible.get_variables()["groups"]["compute"]
    assert len(hypervisors) == len(compute_hosts)
    for hypervisor in hypervisors:
        assert hypervisor["Hypervisor Type"] == "QEMU"
        assert hypervisor["State"] == "up"


@pytest.mark.parametrize("port", [3306, 5672, 11211, 5000, 8774, 8778, 9292, 9696, 6641, 6642])
def test_services_listen_on_the_management_address_only(host, port):
    address = host.ansible.get_variables()["aptstack_management_address"]
    listening = host.run(f"ss -Htln 'sport = :{port}'").stdout.split("\n")
    local = {line.split()[3].rsplit(":", 1)[0] for line in listening if line.strip()}
    assert local, f"nothing listens on port {port}"
    assert local == {address}, f"port {port} listens on {local}"


# The vhost and the durable flag as nova's own transport URL gives them (the URL's credentials stay
# on the host: only its path and query are printed).
TRANSPORT_URL_LAYOUT = """python3 -c '
import configparser, json, urllib.parse
conf = configparser.RawConfigParser(strict=False)
conf.read("/etc/nova/nova.conf")
url = urllib.parse.urlsplit(conf.get("DEFAULT", "transport_url"))
print(json.dumps({"vhost": urllib.parse.unquote(url.path[1:]) or "/", "query": urllib.parse.parse_qs(url.query)}))
'"""


def test_rpc_servers_consume_durable_queues(host):
    """nova's RPC servers consume durable queues, so a call made while its server still starts
    (nova-compute's first call to nova-conductor when a lab boots from a snapshot) waits in the
    queue instead of being dropped."""
    layout = host.run(TRANSPORT_URL_LAYOUT)
    assert layout.rc == 0, layout.stderr
    layout = json.loads(layout.stdout)
    vhost = layout["vhost"]
    assert layout["query"].get("amqp_durable_queues") == ["true"], f"transport URL query: {layout['query']}"
    listed = host.run(f"rabbitmqctl -q list_queues -p '{vhost}' name durable consumers --formatter json")
    assert listed.rc == 0, listed.stderr
    queues = {queue["name"]: queue for queue in json.loads(listed.stdout)}
    for topic in ("conductor", "scheduler", "compute"):
        assert topic in queues, f"no {topic} queue in vhost {vhost}: {sorted(queues)}"
        assert queues[topic]["durable"] is True, queues[topic]
        assert queues[topic]["consumers"] >= 1, queues[topic]


# Settings of neutron's [ovn_nb_global] section: neutron's OVN maintenance worker writes them into
# OVN's NB_Global options at its start; neither ovn-northd nor the API does.
NEUTRON_NB_GLOBAL_OPTIONS = ("ignore_lsp_down", "fdb_removal_limit", "mac_binding_removal_limit")


def test_ovn_maintenance_worker_applied_neutron_settings(host):
    """neutron's OVN maintenance worker runs: ML2/OVN needs it to repair what differs between the
    neutron and OVN databases, and it is what applies [ovn_nb_global] to OVN."""
    listed = host.run("ovn-nbctl --format=json --columns=options list NB_Global")
    assert listed.rc == 0, listed.stderr
    table = json.loads(listed.stdout)
    options = dict(table["data"][0][0][1])
    missing = [name for name in NEUTRON_NB_GLOBAL_OPTIONS if name not in options]
    assert not missing, f"NB_Global options lack {missing} (the OVN maintenance worker did not run): {options}"
