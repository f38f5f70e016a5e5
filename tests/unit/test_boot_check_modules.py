"""The boot_check and boot_check_cleanup modules against a fake cloud (no openstacksdk calls leave
the process): what they request, in which order, and what they return or fail with."""

import importlib
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from .source_files import ROOT

_COLLECTIONS = Path(tempfile.mkdtemp(prefix="aptstack-collections-"))
(_COLLECTIONS / "ansible_collections" / "aptstack").mkdir(parents=True)
(_COLLECTIONS / "ansible_collections" / "aptstack" / "openstack").symlink_to(ROOT)
sys.path.insert(0, str(_COLLECTIONS))
boot_check = importlib.import_module("ansible_collections.aptstack.openstack.plugins.modules.boot_check")
cleanup = importlib.import_module("ansible_collections.aptstack.openstack.plugins.modules.boot_check_cleanup")

SDKException = type("SDKException", (Exception,), {})
SDK = SimpleNamespace(exceptions=SimpleNamespace(SDKException=SDKException, OpenStackCloudException=SDKException))
READY = "APTSTACK-GUEST dhcp-address={ip}/24 iface=eth0\nAPTSTACK-GUEST metadata-uuid={uuid}\nAPTSTACK-GUEST ready\n"


class Res(SimpleNamespace):
    def to_dict(self, computed=False):
        return dict(vars(self))


class FakeCloud:
    """Two compute hosts, a network with two free ports; servers turn ACTIVE on the second poll and
    print their markers on the second console read."""

    def __init__(self, hypervisors=None, port_device="", server_status="ACTIVE"):
        self.calls = []
        self.server_status = server_status
        self.hypervisors_list = hypervisors or [
            Res(name="cmp1", service_details={"host": "cmp1"}, host_ip="10.0.0.11", state="up", status="enabled"),
            Res(name="cmp2", service_details={"host": "cmp2"}, host_ip="10.0.0.12", state="up", status="enabled"),
        ]
        self.ports = {
            f"p{i}": Res(
                id=f"p{i}",
                name=f"r-port-cmp{i}",
                network_id="net1",
                device_id=port_device,
                device_owner="",
                fixed_ips=[{"ip_address": f"192.168.222.1{i}", "subnet_id": "s"}],
                status="ACTIVE",
                binding_vif_type="ovs",
                binding_host_id=f"cmp{i}",
                binding_vif_details={},
                mac_address="fa:16:3e:0:0:1",
            )
            for i in (1, 2)
        }
        self.servers = {}
        self.compute = SimpleNamespace(
            hypervisors=self._log("hypervisors", lambda details: self.hypervisors_list),
            find_flavor=self._log("find_flavor", lambda name, ignore_missing: Res(id="f1", name=name)),
            create_server=self._log("create_server", self._create_server),
            get_server=self._log("get_server", self._get_server),
            find_server=self._log("find_server", lambda sid, ignore_missing: self.servers.get(sid)),
            get_server_console_output=self._log("console", self._console),
        )
        self.image = SimpleNamespace(find_image=self._log("find_image", lambda name, ignore_missing: Res(id="i1")))
        self.network = SimpleNamespace(
            find_port=self._log("find_port", lambda pid, ignore_missing: self.ports.get(pid)),
            get_port=self._log("get_port", lambda pid: self.ports[pid]),
            get_network=self._log("get_network", lambda nid: Res(id=nid, mtu=1442)),
        )

    def _log(self, name, func):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return func(*args, **kwargs)

        return call

    def _create_server(self, **request):
        sid = f"00000000-0000-4000-8000-00000000000{len(self.servers) + 1}"
        host = request.get("availability_zone", "nova:cmp1").split(":")[1]
        port = self.ports[request["networks"][0]["port"]]
        self.servers[sid] = Res(
            id=sid,
            name=request["name"],
            status="BUILD",
            compute_host=host,
            hypervisor_hostname=host,
            fault=None,
            polls=0,
            consoles=0,
            ip=port.fixed_ips[0]["ip_address"],
        )
        return self.servers[sid]

    def _get_server(self, sid):
        server = self.servers[sid]
        server.polls += 1
        if server.polls >= 2:
            server.status = self.server_status
            if self.server_status == "ERROR":
                server.fault = {"code": 500, "message": "No valid host was found."}
        return server

    def _console(self, sid):
        server = self.servers[sid]
        server.consoles += 1
        return {"output": READY.format(ip=server.ip, uuid=sid) if server.consoles >= 2 else "booting\n"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(boot_check, "POLL_S", 0)
    monkeypatch.setattr(cleanup.time, "sleep", lambda _s: None)


def run_module(module_class, cloud, monkeypatch, capsys, check_mode=False, **args):
    monkeypatch.setattr(module_class, "openstack_cloud_from_module", lambda self: (SDK, cloud))
    args["_ansible_check_mode"] = check_mode
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    # ansible-core 2.19 and later also want the serialization profile the controller would pass.
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        module_class()()
    return json.loads(capsys.readouterr().out)


BOOT_ARGS = dict(
    run_name="r",
    image="aptstack-guest",
    flavor="aptstack-verify",
    inventory_hosts={"cmp1": ["10.0.0.11"], "cmp2": ["10.0.0.12"]},
    servers=[
        {"target": "cmp1", "port": "p1", "floating_ip": "172.24.4.11"},
        {"target": "cmp2", "port": "p2", "floating_ip": "172.24.4.12"},
    ],
)


def test_boots_every_server_before_waiting_and_reports_each(monkeypatch, capsys):
    cloud = FakeCloud()
    result = run_module(boot_check.BootCheckModule, cloud, monkeypatch, capsys, **BOOT_ARGS)
    assert not result.get("failed"), result
    names = [name for name, _, _ in cloud.calls]
    # Both create requests come before any wait; each server is pinned to its host.
    creates = [i for i, name in enumerate(names) if name == "create_server"]
    assert creates == [names.index("create_server"), names.index("create_server") + 1]
    assert creates[-1] < names.index("get_server")
    zones = [kwargs["availability_zone"] for name, _, kwargs in cloud.calls if name == "create_server"]
    assert zones == ["nova:cmp1", "nova:cmp2"]
    # Nothing is asked of the cloud after the last guest printed ready: the ping starts at once.
    assert names[-1] == "console"
    servers = result["servers"]
    assert [s["inventory_host"] for s in servers] == ["cmp1", "cmp2"]
    assert [s["target_host"] for s in servers] == ["cmp1", "cmp2"]
    assert [s["name"] for s in servers] == ["r-server-cmp1", "r-server-cmp2"]
    first = servers[0]
    assert first["fixed_ip"] == "192.168.222.11" and first["floating_ip"] == "172.24.4.11"
    assert first["network_id"] == "net1" and first["mtu"] == 1442 and first["hypervisor_ip"] == "10.0.0.11"
    assert first["console"]["ready"] and first["console"]["problems"] == []
    assert first["port"]["binding_vif_type"] == "ovs" and first["port"]["status"] == "ACTIVE"
    assert set(first["timings"]) == {"created_at", "active_s", "console_s", "ready_at"}
    assert first["timings"]["created_at"] <= time.time()
    assert result["hints"] == []
    assert result["changed"] is True


def test_a_target_without_a_usable_hypervisor_fails_before_any_server(monkeypatch, capsys):
    hyps = [Res(name="cmp1", service_details={"host": "cmp1"}, host_ip=None, state="down", status="enabled")]
    cloud = FakeCloud(hypervisors=hyps)
    result = run_module(boot_check.BootCheckModule, cloud, monkeypatch, capsys, **BOOT_ARGS)
    assert result["failed"]
    assert "cmp1" in result["msg"] and "down" in result["msg"] and "no nova hypervisor matches cmp2" in result["msg"]
    assert not any(name == "create_server" for name, _, _ in cloud.calls)


def test_a_port_held_by_a_kept_server_fails_before_any_server(monkeypatch, capsys):
    cloud = FakeCloud(port_device="old-server")
    result = run_module(boot_check.BootCheckModule, cloud, monkeypatch, capsys, **BOOT_ARGS)
    assert result["failed"] and "in use" in result["msg"] and "boot_check_cleanup" in result["msg"]
    assert not any(name == "create_server" for name, _, _ in cloud.calls)


def test_a_server_in_error_fails_with_its_fault_and_port(monkeypatch, capsys):
    cloud = FakeCloud(server_status="ERROR")
    result = run_module(boot_check.BootCheckModule, cloud, monkeypatch, capsys, **BOOT_ARGS)
    assert result["failed"]
    assert "went to ERROR" in result["msg"] and "nova fault: No valid host was found." in result["msg"]
    assert result["fault"]["code"] == 500
    assert result["port"]["binding_host_id"] == "cmp1"
    assert result["server"]["status"] == "ERROR"


def test_check_mode_names_the_servers_and_boots_none(monkeypatch, capsys):
    cloud = FakeCloud()
    result = run_module(boot_check.BootCheckModule, cloud, monkeypatch, capsys, check_mode=True, **BOOT_ARGS)
    assert result["would_boot"] == ["r-server-cmp1", "r-server-cmp2"]
    assert not any(name == "create_server" for name, _, _ in cloud.calls)


def test_a_single_server_is_left_to_the_scheduler(monkeypatch, capsys):
    cloud = FakeCloud()
    args = dict(BOOT_ARGS, servers=[{"port": "p1"}])
    result = run_module(boot_check.BootCheckModule, cloud, monkeypatch, capsys, **args)
    assert not result.get("failed"), result
    (request,) = [kwargs for name, _, kwargs in cloud.calls if name == "create_server"]
    assert "availability_zone" not in request
    assert result["servers"][0]["name"] == "r-server" and result["servers"][0]["inventory_host"] == "cmp1"


# --------------------------------------------------------------------------- cleanup


class FakeNetwork:
    """The resources of run r (and a foreign network) with list, delete and interface calls."""

    def __init__(self, stuck=()):
        self.stuck = set(stuck)
        self.deleted = []
        self.items = {
            "networks": [Res(id="n1", name="r-net", tags=[]), Res(id="n2", name="other-net", tags=[])],
            "subnets": [Res(id="s1", name="r-subnet", network_id="n1", tags=[])],
            "ports": [
                Res(id="p1", name="r-port-cmp1", network_id="n1", device_owner="", device_id="", tags=[]),
                Res(id="pd", name="", network_id="n1", device_owner="network:dhcp", device_id="", tags=[]),
                Res(
                    id="pr", name="", network_id="n1", device_owner="network:router_interface", device_id="r1", tags=[]
                ),
            ],
            "routers": [Res(id="r1", name="r-router", tags=[])],
            "security_groups": [Res(id="g1", name="r-sg", tags=[])],
            "ips": [
                Res(id="f1", floating_ip_address="172.24.4.11", port_id="p1", description="", tags=[]),
                Res(id="f2", floating_ip_address="172.24.4.99", port_id=None, description="someone else's", tags=[]),
            ],
        }
        for kind in self.items:
            setattr(self, kind, self._lister(kind))
        for kind, single in [("networks", "network"), ("subnets", "subnet"), ("ports", "port"), ("routers", "router"),
                             ("security_groups", "security_group"), ("ips", "ip")]:  # fmt: skip
            setattr(self, f"delete_{single}", self._deleter(kind))

    def _lister(self, kind):
        def listing(**query):
            query.pop("project_id", None)
            tags = query.pop("tags", None)
            found = []
            for res in self.items[kind]:
                if tags and tags not in (res.tags or []):
                    continue
                if all(getattr(res, key, None) == value for key, value in query.items()):
                    found.append(res)
            return found

        return listing

    def _deleter(self, kind):
        def delete(res, ignore_missing=True):
            self.deleted.append((kind, res.id))
            if res.id not in self.stuck:
                self.items[kind] = [r for r in self.items[kind] if r.id != res.id]

        return delete

    def remove_interface_from_router(self, router, port_id):
        self.deleted.append(("router_interface", port_id))
        self.items["ports"] = [p for p in self.items["ports"] if p.id != port_id]


def cleanup_cloud(network, servers=()):
    servers = {s.id: s for s in servers}
    compute = SimpleNamespace(
        servers=lambda details: list(servers.values()),
        delete_server=lambda server, ignore_missing: servers.pop(server.id, None),
        find_server=lambda sid, ignore_missing: servers.get(sid),
    )
    return SimpleNamespace(network=network, compute=compute, current_project_id="proj")


def test_cleanup_deletes_the_run_in_dependency_order_and_nothing_else(monkeypatch, capsys):
    network = FakeNetwork()
    server = Res(id="v1", name="r-server-cmp1", metadata={"aptstack_run": "r"})
    foreign = Res(id="v2", name="mine", metadata={})
    result = run_module(
        cleanup.BootCheckCleanupModule, cleanup_cloud(network, [server, foreign]), monkeypatch, capsys, run_name="r"
    )
    assert not result.get("failed"), result
    assert [(d["type"], d["id"]) for d in result["deleted"]] == [
        ("server", "v1"),
        ("floating_ip", "f1"),
        ("router_interface", "pr"),
        ("router", "r1"),
        ("port", "p1"),
        ("subnet", "s1"),
        ("network", "n1"),
        ("security_group", "g1"),
    ]
    assert result["left"] == [] and result["changed"] is True
    assert [n.id for n in network.items["networks"]] == ["n2"]
    assert [f.id for f in network.items["ips"]] == ["f2"]


def test_cleanup_of_nothing_changes_nothing(monkeypatch, capsys):
    network = FakeNetwork()
    result = run_module(cleanup.BootCheckCleanupModule, cleanup_cloud(network), monkeypatch, capsys, run_name="zzz")
    assert result == {**result, "changed": False, "deleted": [], "left": []}


def test_cleanup_fails_naming_what_is_left(monkeypatch, capsys):
    network = FakeNetwork(stuck={"n1"})
    result = run_module(cleanup.BootCheckCleanupModule, cleanup_cloud(network), monkeypatch, capsys, run_name="r")
    assert result["failed"]
    assert result["left"] == [{"type": "network", "id": "n1", "name": "r-net"}]
    assert "network r-net" in result["msg"]


def test_cleanup_in_check_mode_deletes_nothing(monkeypatch, capsys):
    network = FakeNetwork()
    result = run_module(
        cleanup.BootCheckCleanupModule, cleanup_cloud(network), monkeypatch, capsys, check_mode=True, run_name="r"
    )
    assert result["changed"] is True and len(result["deleted"]) == 7
    assert network.deleted == []


# --------------------------------------------------------------------------- the verify role's filters


def _filter(name):
    module = importlib.import_module(f"ansible_collections.aptstack.openstack.plugins.filter.{name}")
    return module.FilterModule().filters()[name]


def test_placement_errors_read_the_hypervisors_as_openstack_cloud_lists_them():
    hypervisors = [
        {"name": "cmp1.lab", "service_details": {"host": "cmp1"}, "host_ip": "10.0.0.11", "state": "up",
         "status": "enabled"},
        {"name": "node-x", "service_details": {"host": "node-x"}, "host_ip": "10.0.0.12", "state": "down",
         "status": "enabled"},
    ]  # fmt: skip
    errors = _filter("boot_check_placement_errors")
    inventory = {"cmp1": ["10.0.0.11"], "cmp2": ["10.0.0.12"]}
    assert errors(hypervisors, inventory, ["cmp1"]) == []
    (error,) = errors(hypervisors, inventory, ["cmp1", "cmp2"])
    assert "cmp2" in error and "down" in error


def test_names_filter_gives_one_port_per_target():
    names = _filter("boot_check_names")("r", ["cmp1", "cmp2"])
    assert [server["port"] for server in names["servers"]] == ["r-port-cmp1", "r-port-cmp2"]
    assert names["network"] == "r-net" and names["floating_ip"] == "aptstack boot check r"
    assert _filter("boot_check_names")("r")["servers"] == [{"target": None, "server": "r-server", "port": "r-port"}]
