import ipaddress

import pytest

from aptstack import lab
from aptstack.errors import UsageError


def net(text):
    return ipaddress.ip_network(text)


def test_aio_is_one_host_in_both_groups():
    nodes = lab.plan_nodes("t", "aio", 1, "10.213.0.0/24", "10.213.1.0/24")
    assert [(n.hostname, n.address, n.tunnel_address, n.groups) for n in nodes] == [
        ("t-aio", "10.213.0.10", "10.213.1.10", ["controller", "compute"])
    ]


def test_controller_compute_numbers_computes():
    nodes = lab.plan_nodes("x", "controller-compute", 2, "10.9.0.0/24", "10.9.1.0/24")
    assert [n.hostname for n in nodes] == ["x-controller", "x-compute1", "x-compute2"]
    assert [n.address for n in nodes] == ["10.9.0.10", "10.9.0.11", "10.9.0.12"]
    assert [n.groups for n in nodes] == [["controller"], ["compute"], ["compute"]]


def test_compute_hosts_halt_before_the_controller():
    nodes = lab.plan_nodes("x", "controller-compute", 2, "10.9.0.0/24", "10.9.1.0/24")
    waves = lab.halt_waves(nodes)
    assert [[n.hostname for n in wave] for wave in waves] == [
        ["x-compute1", "x-compute2"],
        ["x-controller"],
    ]


def test_an_aio_halts_in_one_wave():
    nodes = lab.plan_nodes("t", "aio", 1, "10.213.0.0/24", "10.213.1.0/24")
    assert [[n.hostname for n in wave] for wave in lab.halt_waves(nodes)] == [["t-aio"]]


@pytest.mark.parametrize(
    ("name", "topology", "release", "computes", "message"),
    [
        ("Bad", "aio", "resolute", 1, "invalid lab name"),
        ("t", "mesh", "resolute", 1, "unknown topology"),
        ("t", "aio", "bionic", 1, "unknown release"),
        ("t", "aio", "resolute", 3, "controller-compute topology only"),
        ("t", "controller-compute", "resolute", 0, "between 1 and 8"),
    ],
)
def test_validate_request_rejects(name, topology, release, computes, message):
    with pytest.raises(UsageError, match=message):
        lab.validate_request(name, topology, release, computes)


def test_allocation_skips_routed_and_used_networks():
    other = lab.Lab("o", "aio", "resolute", 1, 1, "10.213.1.0/24", "10.213.2.0/24")
    found = lab.allocate_subnets(2, [net("10.213.0.0/23")], [other])
    assert [str(n) for n in found] == ["10.213.3.0/24", "10.213.4.0/24"]


def test_allocation_with_nothing_to_allocate():
    assert lab.allocate_subnets(0, [], []) == []


def test_allocation_exhausted_pool():
    with pytest.raises(UsageError, match="no free /24"):
        lab.allocate_subnets(1, [net("10.213.0.0/16")], [])


def test_routed_subnet_is_rejected():
    with pytest.raises(UsageError, match="already routed"):
        lab.check_subnet_free(net("192.0.2.0/25"), "--subnet", [net("192.0.2.0/24")], [])


def test_subnet_of_other_lab_is_rejected():
    other = lab.Lab("o", "aio", "resolute", 1, 1, "10.5.0.0/24", "10.5.1.0/24")
    with pytest.raises(UsageError, match="used by lab 'o'"):
        lab.check_subnet_free(net("10.5.1.0/24"), "--subnet", [], [other])


@pytest.mark.parametrize("text", ["10.0.0.1/24", "fd00::/64", "10.0.0.0/8", "nonsense"])
def test_parse_subnet_rejects(text):
    with pytest.raises(UsageError):
        lab.parse_subnet(text, "--subnet")


def test_inventory_groups_and_vars(tmp_path, monkeypatch):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    the_lab = lab.Lab("t", "controller-compute", "resolute", 1, 3, "10.1.0.0/24", "10.1.1.0/24")
    the_lab.nodes = lab.plan_nodes("t", "controller-compute", 1, the_lab.subnet, the_lab.tunnel_subnet)
    inventory = lab.render_inventory(the_lab)["all"]
    assert set(inventory["children"]["controller"]["hosts"]) == {"t-controller"}
    assert set(inventory["children"]["compute"]["hosts"]) == {"t-compute1"}
    compute = inventory["children"]["compute"]["hosts"]["t-compute1"]
    assert compute["ansible_host"] == "10.1.0.11"
    assert compute["aptstack_tunnel_address"] == "10.1.1.11"
    assert inventory["vars"]["ansible_ssh_private_key_file"] == str(tmp_path / "labs/t/id_ed25519")
    assert "StrictHostKeyChecking=yes" in inventory["vars"]["ansible_ssh_common_args"]


def test_names_fit_linux_interface_limit():
    the_lab = lab.Lab("t", "controller-compute", "resolute", 8, 999, "10.1.0.0/24", "10.1.1.0/24")
    nodes = lab.plan_nodes("abcdefghijklmnopqrst", "controller-compute", 8, "10.1.0.0/24", "10.1.1.0/24")
    names = [the_lab.mgmt_bridge, the_lab.tunnel_bridge]
    names += [n.mgmt_veth(the_lab.lab_id) for n in nodes] + [n.tunnel_veth(the_lab.lab_id) for n in nodes]
    assert all(len(name) <= 15 for name in names)


def test_lab_round_trips_through_json():
    the_lab = lab.Lab("t", "aio", "noble", 1, 2, "10.1.0.0/24", "10.1.1.0/24")
    the_lab.nodes = lab.plan_nodes("t", "aio", 1, the_lab.subnet, the_lab.tunnel_subnet)
    the_lab.nodes[0].pid = 42
    assert lab.Lab.from_json(the_lab.to_json()) == the_lab


def test_a_lab_written_by_a_newer_version_still_loads():
    the_lab = lab.Lab("t", "aio", "noble", 1, 2, "10.1.0.0/24", "10.1.1.0/24")
    the_lab.nodes = lab.plan_nodes("t", "aio", 1, the_lab.subnet, the_lab.tunnel_subnet)
    data = the_lab.to_json() | {"a_future_key": "base"}
    data["nodes"][0]["a_future_node_key"] = "/somewhere"
    assert lab.Lab.from_json(data) == the_lab


@pytest.mark.parametrize(
    ("argv", "label"),
    [
        (["/usr/bin/python3", "/usr/bin/nova-conductor", "--config-file=/etc/nova/nova.conf"], "nova-conductor"),
        (["/usr/bin/python3", "-s", "/usr/bin/neutron-ovn-metadata-agent"], "neutron-ovn-metadata-agent"),
        (
            ["/usr/bin/python3", "/usr/bin/privsep-helper", "--privsep_context", "vif_plug_ovs.privsep.vif_plug"],
            "privsep-helper vif_plug_ovs",
        ),
        (["(wsgi:keystone)    -k start"], "(wsgi:keystone)"),
        (["/usr/sbin/mariadbd"], "mariadbd"),
        ([], "?"),
    ],
)
def test_process_label_names_the_program_a_reader_knows(argv, label):
    assert lab.process_label(argv) == label
