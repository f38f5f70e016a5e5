"""Decision logic of the boot-and-ping check.

plugins/module_utils/{boot_check,guest_console,guest_images,timing}.py and modules/wait_ping.py
(the modules' side) and plugins/plugin_utils/check_report.py (the controller's report), imported by the
collection's own names as Ansible imports them.
"""

import importlib
import sys
import tempfile
import types
from pathlib import Path

import pytest

from .source_files import ROOT

_COLLECTIONS = Path(tempfile.mkdtemp(prefix="aptstack-collections-"))
(_COLLECTIONS / "ansible_collections" / "aptstack").mkdir(parents=True)
(_COLLECTIONS / "ansible_collections" / "aptstack" / "openstack").symlink_to(ROOT)
sys.path.insert(0, str(_COLLECTIONS))
_MODULES = [
    "module_utils.boot_check",
    "module_utils.guest_console",
    "module_utils.guest_images",
    "modules.wait_ping",
    "module_utils.timing",
    "plugin_utils.check_report",
]
bc = types.SimpleNamespace()
for _name in _MODULES:
    _module = importlib.import_module("ansible_collections.aptstack.openstack.plugins." + _name)
    vars(bc).update({key: value for key, value in vars(_module).items() if not key.startswith("__")})

SERVER_ID = "0f6c2a43-7e0b-4a53-9d3c-5b6d1c2e8f90"

GOOD_CONSOLE = f"""\
[    0.000000] Linux version 7.0.0-14-generic
[    2.113402] Run /init as init process
APTSTACK-GUEST dhcp-address=192.168.222.17/24 iface=eth0\r
APTSTACK-GUEST metadata-uuid={SERVER_ID}\r
APTSTACK-GUEST ready\r
"""


# --------------------------------------------------------------------------- console


def test_parse_console_reads_all_markers():
    parsed = bc.parse_console(GOOD_CONSOLE)
    assert parsed["ready"] is True
    assert parsed["dhcp_address"] == "192.168.222.17/24"
    assert parsed["dhcp_ip"] == "192.168.222.17"
    assert parsed["iface"] == "eth0"
    assert parsed["metadata_uuid"] == SERVER_ID
    assert not parsed["dhcp_failed"]
    assert not parsed["metadata_failed"]
    assert parsed["markers"] == [
        "APTSTACK-GUEST dhcp-address=192.168.222.17/24 iface=eth0",
        f"APTSTACK-GUEST metadata-uuid={SERVER_ID}",
        "APTSTACK-GUEST ready",
    ]
    assert bc.console_done(parsed)
    assert bc.console_problems(parsed, "192.168.222.17", SERVER_ID) == []


def test_parse_console_while_booting_is_not_done():
    parsed = bc.parse_console("[    0.1] booting\nAPTSTACK-GUEST dhcp-address=10.0.0.5/24 iface=eth0\n")
    assert not bc.console_done(parsed)
    assert parsed["dhcp_ip"] == "10.0.0.5"
    assert parsed["metadata_uuid"] is None
    problems = bc.console_problems(parsed, "10.0.0.5", SERVER_ID)
    assert any("never printed" in p for p in problems)


def test_parse_console_empty_and_none():
    for text in ("", None):
        parsed = bc.parse_console(text)
        assert parsed["ready"] is False
        assert parsed["markers"] == []


def test_failure_markers():
    text = "APTSTACK-GUEST dhcp-failed\nAPTSTACK-GUEST metadata-failed\nAPTSTACK-GUEST ready\n"
    parsed = bc.parse_console(text)
    assert parsed["dhcp_failed"] and parsed["metadata_failed"] and parsed["ready"]
    problems = bc.console_problems(parsed, "10.0.0.5", SERVER_ID)
    assert "DHCP: the guest got no lease (dhcp-failed)" in problems
    assert any(p.startswith("metadata:") and "metadata-failed" in p for p in problems)
    assert not any("never printed" in p for p in problems)


def test_a_failed_lease_carries_what_the_guest_says_about_its_nic():
    text = "APTSTACK-GUEST dhcp-failed iface=eth0 tx_packets=12 rx_packets=0 carrier=1\nAPTSTACK-GUEST ready\n"
    parsed = bc.parse_console(text)
    assert parsed["dhcp_failed_detail"] == "iface=eth0 tx_packets=12 rx_packets=0 carrier=1"
    problems = bc.console_problems(parsed, "192.168.222.5", SERVER_ID)
    assert "DHCP: the guest got no lease (dhcp-failed; guest NIC: iface=eth0 tx_packets=12 rx_packets=0 carrier=1)" in [
        p for p in problems if p.startswith("DHCP")
    ]


def test_metadata_failed_after_dhcp():
    text = "APTSTACK-GUEST dhcp-address=10.0.0.5/24 iface=eth0\nAPTSTACK-GUEST metadata-failed\nAPTSTACK-GUEST ready\n"
    parsed = bc.parse_console(text)
    problems = bc.console_problems(parsed, "10.0.0.5", SERVER_ID)
    assert problems == ["metadata: the guest could not read the metadata service (metadata-failed)"]
    hints = bc.diagnose("ACTIVE", None, {"status": "ACTIVE", "binding_vif_type": "ovs"}, parsed)
    assert any("neutron-ovn-metadata-agent" in h for h in hints)


def test_mismatched_address_and_uuid_are_problems():
    parsed = bc.parse_console(GOOD_CONSOLE)
    problems = bc.console_problems(parsed, "192.168.222.18", "11111111-2222-3333-4444-555555555555")
    assert problems == [
        "DHCP: the guest got 192.168.222.17, but the server's fixed address is 192.168.222.18",
        f"metadata: the guest read instance uuid {SERVER_ID}, but the server is 11111111-2222-3333-4444-555555555555",
    ]


def test_uuid_comparison_ignores_case():
    parsed = bc.parse_console(GOOD_CONSOLE.replace(SERVER_ID, SERVER_ID.upper()))
    assert parsed["metadata_uuid"] == SERVER_ID
    assert bc.console_problems(parsed, "192.168.222.17", SERVER_ID.upper()) == []


def test_last_marker_wins_after_a_reboot():
    text = "APTSTACK-GUEST dhcp-failed\nAPTSTACK-GUEST metadata-failed\nAPTSTACK-GUEST ready\nreboot\n" + GOOD_CONSOLE
    parsed = bc.parse_console(text)
    assert not parsed["dhcp_failed"] and not parsed["metadata_failed"]
    assert parsed["dhcp_ip"] == "192.168.222.17"


def test_marker_inside_kernel_chatter_line():
    text = "[    5.1] virtio_net virtio0 eth0: renamed APTSTACK-GUEST dhcp-address=10.1.2.3/28 iface=ens3\n"
    parsed = bc.parse_console(text)
    assert parsed["dhcp_address"] == "10.1.2.3/28"
    assert parsed["iface"] == "ens3"


def test_marker_lookalikes_are_ignored():
    parsed = bc.parse_console("APTSTACK-GUEST readyish\nAPTSTACK-GUEST metadata-uuid=not-a-uuid\n")
    assert not parsed["ready"]
    assert parsed["metadata_uuid"] is None


def test_tail_drops_blank_lines_and_carriage_returns():
    text = "a\r\n\r\nb\n\nc\r\n"
    assert bc.tail(text, 2) == ["b", "c"]
    assert bc.tail(text, 10) == ["a", "b", "c"]
    assert bc.tail("", 5) == []
    assert bc.tail("x", 0) == []


# --------------------------------------------------------------------------- run names


@pytest.mark.parametrize("name", ["aptstack-verify", "a", "run.1_x-2", "A" * 48])
def test_good_run_names(name):
    assert bc.check_run_name(name) is None


@pytest.mark.parametrize("name", ["", "-x", "a,b", "a/b", "a b", "A" * 49, None, 5])
def test_bad_run_names(name):
    assert "run_name" in bc.check_run_name(name)


def test_resource_names_and_tag():
    names = bc.resource_names("r1")
    assert names["network"] == "r1-net"
    assert names["server"] == "r1-server"
    assert len(set(names.values())) == len(names)
    assert bc.run_tag("r1") == "aptstack-run=r1"


def test_server_names_per_target():
    assert bc.server_names("r1") == {"server": "r1-server", "port": "r1-port"}
    assert bc.server_names("r1", "cmp2") == {"server": "r1-server-cmp2", "port": "r1-port-cmp2"}
    assert bc.server_names("r1", "cmp1") != bc.server_names("r1", "cmp2")


def test_run_names_are_what_the_role_creates_and_the_cleanup_finds():
    names = bc.run_names("r1", ["cmp1", "cmp2"])
    assert {k: names[k] for k in ("network", "subnet", "router", "security_group")} == {
        k: bc.resource_names("r1")[k] for k in ("network", "subnet", "router", "security_group")
    }
    assert names["servers"] == [
        {"target": "cmp1", "server": "r1-server-cmp1", "port": "r1-port-cmp1"},
        {"target": "cmp2", "server": "r1-server-cmp2", "port": "r1-port-cmp2"},
    ]
    # Without targets: one server, placed by the scheduler.
    assert bc.run_names("r1")["servers"] == [{"target": None, "server": "r1-server", "port": "r1-port"}]


def test_belongs_to_run():
    assert bc.belongs_to_run({"tags": ["aptstack-run=r1"]}, "r1")
    assert not bc.belongs_to_run({"tags": ["aptstack-run=r10"]}, "r1")
    assert bc.belongs_to_run({"metadata": {"aptstack_run": "r1"}}, "r1")
    assert bc.belongs_to_run({"name": "r1-net", "tags": []}, "r1", name="r1-net")
    assert not bc.belongs_to_run({"name": "r1-net2"}, "r1", name="r1-net")
    assert bc.belongs_to_run({"description": "aptstack boot check r1"}, "r1", description="aptstack boot check r1")
    assert not bc.belongs_to_run({"name": "other"}, "r1")


def test_unique_by_id_keeps_order():
    class Res:
        def __init__(self, rid):
            self.id = rid

    items = [Res("a"), Res("b"), Res("a"), Res("c")]
    assert [r.id for r in bc.unique_by_id(items)] == ["a", "b", "c"]
    assert bc.unique_by_id([{"id": 1}, {"id": 1}]) == [{"id": 1}]


# --------------------------------------------------------------------------- ports, faults


def test_port_state_accepts_both_spellings():
    neutron = {"id": "p", "status": "DOWN", "binding:vif_type": "binding_failed", "binding:host_id": "c1"}
    sdk = {"id": "p", "status": "DOWN", "binding_vif_type": "binding_failed", "binding_host_id": "c1"}
    assert bc.port_state(neutron)["binding_vif_type"] == "binding_failed"
    assert bc.port_state(sdk)["binding_host_id"] == "c1"
    assert bc.port_state(None) == {}
    state = bc.port_state({"fixed_ips": [{"ip_address": "10.0.0.5", "subnet_id": "s"}]})
    assert state["fixed_ips"] == ["10.0.0.5"]


def test_diagnose_binding_failed_and_fault():
    port = bc.port_state({"status": "DOWN", "binding:vif_type": "binding_failed", "binding:host_id": "c1"})
    hints = bc.diagnose("ERROR", {"code": 500, "message": "Build of instance aborted"}, port)
    assert hints[0] == "nova fault: Build of instance aborted"
    assert "server status ERROR" in hints
    assert any("could not bind the port on host c1" in h for h in hints)


def test_diagnose_fault_message_is_trimmed_and_may_be_missing():
    assert bc.diagnose(None, {"code": 500, "message": "No valid host was found. "}) == [
        "nova fault: No valid host was found."
    ]
    assert bc.diagnose(None, {"code": 500, "message": None}) == []


def test_diagnose_port_down_on_active_server():
    hints = bc.diagnose("ACTIVE", None, {"status": "DOWN", "binding_vif_type": "ovs"})
    assert hints == ["port status DOWN (ovn-controller did not claim it, or it is down)"]


def test_diagnose_all_good_is_quiet():
    parsed = bc.parse_console(GOOD_CONSOLE)
    assert bc.diagnose("ACTIVE", None, {"status": "ACTIVE", "binding_vif_type": "ovs"}, parsed) == []


# --------------------------------------------------------------------------- inventory


INVENTORY = {
    "lab-ctl": ["10.213.0.10"],
    "lab-cmp1": ["10.213.0.11", "lab-cmp1.example.test"],
    "lab-cmp2": "10.213.0.12",
}


@pytest.mark.parametrize(
    ("host", "hyp", "ip", "expected"),
    [
        ("lab-cmp1", "lab-cmp1", None, "lab-cmp1"),
        ("LAB-CMP2", None, None, "lab-cmp2"),
        (None, "lab-cmp1.example.test", None, "lab-cmp1"),
        (None, "lab-cmp2.other.domain", None, "lab-cmp2"),
        ("node-x", "node-x.local", "10.213.0.12", "lab-cmp2"),
        ("node-x", "node-x.local", "10.9.9.9", None),
        (None, None, None, None),
    ],
)
def test_match_inventory_host(host, hyp, ip, expected):
    assert bc.match_inventory_host(INVENTORY, host, hyp, ip) == expected


def test_full_name_beats_short_name():
    inventory = {"a": ["cmp.one"], "b": ["cmp"]}
    assert bc.match_inventory_host(inventory, "cmp") == "b"
    assert bc.match_inventory_host(inventory, "cmp.one") == "a"


def _hyp(name, host=None, ip=None, state="up", status="enabled"):
    return {"name": name, "host": host or name, "host_ip": ip, "state": state, "status": status}


def test_place_targets_maps_each_target_to_its_hypervisor():
    hyps = [_hyp("lab-cmp1.example.test", "lab-cmp1"), _hyp("node-x", ip="10.213.0.12"), _hyp("lab-ctl")]
    placement, errors = bc.place_targets(INVENTORY, ["lab-cmp2", "lab-cmp1"], hyps)
    assert errors == []
    assert placement["lab-cmp1"]["host"] == "lab-cmp1"
    assert placement["lab-cmp2"]["name"] == "node-x"


def test_place_targets_names_every_unusable_target():
    hyps = [_hyp("lab-cmp1", state="down"), _hyp("lab-ctl")]
    placement, errors = bc.place_targets(INVENTORY, ["lab-cmp1", "lab-cmp2", "nowhere"], hyps)
    assert placement == {}
    assert len(errors) == 3
    assert "lab-cmp1" in errors[0] and "down" in errors[0]
    assert "no nova hypervisor matches lab-cmp2" in errors[1] and "lab-ctl" in errors[1]
    assert "nowhere is not one of the inventory hosts" in errors[2]


def test_place_targets_disabled_hypervisor_and_no_hypervisors():
    _placement, errors = bc.place_targets(INVENTORY, ["lab-cmp1"], [_hyp("lab-cmp1", status="disabled")])
    assert "disabled" in errors[0]
    _placement, errors = bc.place_targets(INVENTORY, ["lab-cmp1"], [])
    assert "hypervisors: none" in errors[0]


# --------------------------------------------------------------------------- report


def _server(host, target=None, fixed="192.168.222.10", sid=SERVER_ID, problems=(), **timings):
    return {
        "id": sid, "name": f"r-server-{host}", "host": host, "hypervisor_hostname": host,
        "inventory_host": host, "target_host": target, "fixed_ip": fixed, "floating_ip": "172.24.4.50",
        "network_id": "net1", "mtu": 1442,
        "console": {"dhcp_address": f"{fixed}/24", "iface": "eth0", "metadata_uuid": sid, "markers": ["m"],
                    "problems": list(problems), "tail": ["last line"]},
        "timings": {"created_at": 1000.0, "active_s": 10.0, "console_s": 12.0, **timings},
    }  # fmt: skip


def _ping(at, **extra):
    return {"answered_at": at, "elapsed": 1.0, "host": "h", "address": "a", **extra} if at else {"msg": "no answer"}


def test_check_report_all_good_takes_the_slowest_timings():
    servers = [_server("cmp1", "cmp1"), _server("cmp2", "cmp2", active_s=20.0)]
    report = bc.check_report(servers, [_ping(1025.0), _ping(1031.5)], [_ping(1026.0), _ping(1032.0)], "ctl")
    assert report["failures"] == []
    assert [s["inventory_host"] for s in report["servers"]] == ["cmp1", "cmp2"]
    assert report["servers"][1]["timings"]["first_ping_s"] == 31.5
    assert report["servers"][1]["pings"]["floating"]["host"] == "ctl"
    assert report["servers"][0]["console_tail"] == []
    assert report["timings"] == {"active_s": 20.0, "console_s": 12.0, "first_ping_s": 31.5, "floating_ping_s": 32.0}


def test_check_report_takes_the_early_fixed_pings_by_address():
    servers = [_server("cmp1", "cmp1", fixed="192.168.222.10"), _server("cmp2", "cmp2", fixed="192.168.222.11")]
    early = [
        # Finished: the module's own result, as async_status returns it.
        {"finished": 1, "item": {"item": {"address": "192.168.222.10"}},
         **_ping(1014.2, address="192.168.222.10")},
        # Still running when the check stopped waiting: only the address it was started with.
        {"finished": 0, "ansible_job_id": "j2", "item": {"item": {"address": "192.168.222.11"}}},
    ]  # fmt: skip
    skipped = [{"skipped": True}, {"skipped": True}]
    report = bc.check_report(servers, skipped, [_ping(1026.0), _ping(1027.0)], "ctl", early)
    assert report["servers"][0]["timings"]["first_ping_s"] == 14.2
    assert report["servers"][0]["pings"]["fixed"]["answered"] is True
    assert report["failures"] == [
        "cmp2: fixed-address ping: no answer while the check waited after the guest's ready marker"
    ]


def test_check_report_names_the_host_of_each_failure():
    servers = [
        _server("cmp1", "cmp1", problems=["DHCP: no dhcp-address marker on the console"]),
        _server("cmp2", "cmp3"),
        dict(_server("node-x"), inventory_host=None),
    ]
    fixed = [_ping(1025.0), _ping(None), {"skipped": True, "msg": "Conditional result was False"}]
    report = bc.check_report(servers, fixed, [_ping(1026.0)], "ctl")
    failures = report["failures"]
    assert "cmp1: DHCP: no dhcp-address marker on the console" in failures
    assert "cmp2: placement: the server for cmp3 runs on cmp2" in failures
    assert "cmp2: fixed-address ping: no answer" in failures
    assert "cmp2: floating-address ping: not pinged" in failures
    assert "node-x: fixed-address ping: not pinged" in failures
    assert any(f.startswith("node-x: placement: the server runs on compute host node-x") for f in failures)
    assert report["servers"][0]["console_tail"] == ["last line"]
    # A server that was never pinged has no time to first ping, so neither has the check.
    assert report["timings"]["first_ping_s"] is None


def test_check_report_without_floating_pings():
    report = bc.check_report([_server("cmp1")], [_ping(1020.0)], [], None)
    assert report["failures"] == []
    assert report["servers"][0]["pings"]["floating"]["answered"] is False
    assert report["timings"]["floating_ping_s"] is None


def test_check_report_of_no_servers():
    assert bc.check_report([], [], [], "ctl") == {
        "servers": [], "failures": [],
        "timings": {"active_s": None, "console_s": None, "first_ping_s": None, "floating_ping_s": None},
    }  # fmt: skip


# --------------------------------------------------------------------------- images


def _img(iid, name, sha, status="active", created="2026-01-01T00:00:00Z", ours=True, **props):
    properties = dict(props)
    if ours:
        properties[bc.SHA256_PROPERTY] = sha
    return {"id": iid, "name": name, "status": status, "created_at": created, "properties": properties}


def test_image_roles():
    roles = bc.image_roles("g")
    assert roles["kernel"] == {"name": "g-kernel", "disk_format": "aki", "container_format": "aki"}
    assert roles["ramdisk"]["disk_format"] == "ari"
    assert roles["disk"] == {"name": "g", "disk_format": "ami", "container_format": "ami"}


def test_pick_image_keeps_matching_and_deletes_stale():
    images = [
        _img("k-old", "g-kernel", "aaa"),
        _img("k-new", "g-kernel", "bbb"),
        _img("other", "g-kernel", "bbb", ours=False),
        _img("r1", "g-ramdisk", "bbb"),
    ]
    assert bc.pick_image(images, "g-kernel", "bbb") == ("k-new", ["k-old"])


def test_pick_image_nothing_matches():
    images = [_img("k1", "g-kernel", "aaa"), _img("k2", "g-kernel", "bbb", status="queued")]
    assert bc.pick_image(images, "g-kernel", "bbb") == (None, ["k1", "k2"])
    assert bc.pick_image([], "g-kernel", "bbb") == (None, [])


def test_pick_image_newest_duplicate_wins():
    images = [
        _img("k1", "g-kernel", "BBB", created="2026-01-01T00:00:00Z"),
        _img("k2", "g-kernel", "bbb", created="2026-02-01T00:00:00Z"),
    ]
    assert bc.pick_image(images, "g-kernel", "bbb") == ("k2", ["k1"])


def test_pick_image_never_touches_foreign_images():
    images = [_img("x", "g-kernel", "zzz", ours=False)]
    assert bc.pick_image(images, "g-kernel", "bbb") == (None, [])


def test_disk_property_changes():
    props = {"kernel_id": "k1", "ramdisk_id": "r1", "os_command_line": "console=ttyS0"}
    assert bc.disk_property_changes(props, "k1", "r1", "console=ttyS0") == {}
    assert bc.disk_property_changes(props, "k2", "r1", "console=ttyS0") == {"kernel_id": "k2"}
    assert bc.disk_property_changes({}, "k1", "r1", "console=ttyS0 quiet") == {
        "kernel_id": "k1",
        "ramdisk_id": "r1",
        "os_command_line": "console=ttyS0 quiet",
    }
    # An unknown id (check mode, upload pending) is not a change by itself.
    assert bc.disk_property_changes(props, None, "r1", "console=ttyS0") == {}


def test_read_manifest():
    manifest = {
        "command_line": "console=ttyS0",
        "kernel": {"file": "vmlinuz", "sha256": "AB"},
        "ramdisk": {"file": "initrd.img", "sha256": "cd"},
        "disk": {"file": "disk.img", "sha256": "ef"},
    }
    files, cmdline = bc.read_manifest(manifest)
    assert cmdline == "console=ttyS0"
    assert files["kernel"] == {"file": "vmlinuz", "sha256": "ab"}
    del manifest["ramdisk"]["sha256"]
    with pytest.raises(ValueError, match="ramdisk"):
        bc.read_manifest(manifest)
    with pytest.raises(ValueError, match="kernel"):
        bc.read_manifest([])


# --------------------------------------------------------------------------- ping


def test_ping_argv():
    assert bc.ping_argv("10.0.0.5") == ["ping", "-c", "1", "-W", "1", "-q", "10.0.0.5"]
    assert bc.ping_argv("10.0.0.5", "ovnmeta-n1", 2, ping="/usr/bin/ping") == [
        "ip", "netns", "exec", "ovnmeta-n1", "/usr/bin/ping", "-c", "1", "-W", "2", "-q", "10.0.0.5",
    ]  # fmt: skip
    assert bc.ping_argv("10.0.0.5", wait_seconds=0)[4] == "1"
    assert bc.ping_argv("10.0.0.5", wait_seconds=0.2)[4] == "0.2"
    assert bc.ping_argv("10.0.0.5", wait_seconds=2.0)[4] == "2"


def test_ping_failure_message_when_the_namespace_went_away():
    msg = bc.ping_failure_message("10.0.0.5", "ovnmeta-n1", "cmp1", 60, 7, namespace_gone=True)
    assert msg.startswith("No answer from 10.0.0.5 in namespace ovnmeta-n1 on host cmp1 (7 attempts)")
    assert "namespace went away" in msg


def test_ping_failure_messages_name_address_namespace_and_host():
    msg = bc.ping_failure_message("10.0.0.5", "ovnmeta-n1", "cmp1", 60, 0, namespace_seen=False)
    assert "10.0.0.5" in msg and "ovnmeta-n1" in msg and "cmp1" in msg and "60 s" in msg
    assert "never appeared" in msg
    msg = bc.ping_failure_message("172.24.4.150", "", "ctl", 30, 30, last_error="1 packets transmitted, 0 received")
    assert msg.startswith("No answer from 172.24.4.150 on host ctl within 30 s (30 attempts)")
    assert "namespace" not in msg
    assert msg.endswith("last error: 1 packets transmitted, 0 received")


def test_round_seconds():
    assert bc.round_seconds(1.26) == 1.3
    assert bc.round_seconds(None) is None


def test_markers_carry_the_guest_uptime():
    text = (
        "APTSTACK-GUEST dhcp-address=10.0.0.5/24 iface=eth0 uptime=7.41\n"
        f"APTSTACK-GUEST metadata-uuid={SERVER_ID} uptime=9.02\n"
        "APTSTACK-GUEST ready uptime=9.10\n"
    )
    parsed = bc.parse_console(text)
    assert parsed["uptimes"] == {"dhcp-address": 7.41, "metadata-uuid": 9.02, "ready": 9.1}
    assert parsed["dhcp_ip"] == "10.0.0.5" and parsed["iface"] == "eth0"
    assert parsed["metadata_uuid"] == SERVER_ID and parsed["ready"]
    assert bc.console_problems(parsed, "10.0.0.5", SERVER_ID) == []


def test_the_ssh_server_marker_after_ready_changes_nothing_of_the_boot_check():
    # The guest's SSH server starts after `ready`, in the background; its marker line comes later
    # (or, when the server failed, says so) and must not be read as a problem of the boot.
    for line in ("ssh-server=started user=root keys=0 uptime=10.52", "ssh-server=failed uptime=10.40"):
        text = (
            "APTSTACK-GUEST dhcp-address=10.0.0.5/24 iface=eth0 uptime=7.41\n"
            f"APTSTACK-GUEST metadata-uuid={SERVER_ID} uptime=9.02\n"
            "APTSTACK-GUEST ready uptime=9.10\n"
            f"APTSTACK-GUEST {line}\n"
        )
        parsed = bc.parse_console(text)
        assert parsed["ready"] and bc.console_done(parsed)
        assert parsed["uptimes"]["ready"] == 9.1 and "ssh-server" in parsed["uptimes"]
        assert not parsed["dhcp_failed"] and not parsed["metadata_failed"]
        assert bc.console_problems(parsed, "10.0.0.5", SERVER_ID) == []
