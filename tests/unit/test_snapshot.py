import ipaddress
import json
import urllib.error

import pytest

from aptstack import cli, host, lab, snapshot
from aptstack.errors import AptstackError, UsageError


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A state dir with a deployed aio lab "src"; root and the host's routes faked."""
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(host, "require_root", lambda: None)
    monkeypatch.setattr(host, "require_tools", lambda: None)
    monkeypatch.setattr(host, "routed_networks", lambda: [])
    source = lab.Lab("src", "aio", "resolute", 1, 1, "10.213.5.0/24", "10.213.6.0/24")
    source.nodes = lab.plan_nodes("src", "aio", 1, source.subnet, source.tunnel_subnet)
    lab.save(source)
    for name in ("inventory.yml", "secrets.yml", "clouds.yaml"):
        (source.directory() / name).write_text("{}\n")
    monkeypatch.setattr(snapshot, "disk_usage", lambda _path: 2**20)
    return tmp_path


def write_snapshot(name, source_lab, used_by=()):
    """A snapshot record on disk (no root filesystems), and labs restored from it."""
    meta = snapshot.metadata(name, source_lab, {"src-aio": {"packages": []}}, 123)
    directory = snapshot.snapshot_dir(name)
    directory.mkdir(parents=True)
    (directory / "snapshot.json").write_text(json.dumps(meta))
    for index, lab_name in enumerate(used_by):
        restored = lab.Lab.from_json(dict(meta["lab"]))
        restored.name, restored.lab_id, restored.snapshot = lab_name, 50 + index, name
        lab.save(restored)
    return meta


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_metadata_records_where_a_later_test_starts_from(state):
    source = lab.load("src")
    source.nodes[0].pid = 4242
    meta = snapshot.metadata("s1", source, {"src-aio": {"nova": "33.0.0"}}, 10)
    assert (meta["release"], meta["topology"], meta["source_lab"]) == ("resolute", "aio", "src")
    assert meta["versions"] == {"src-aio": {"nova": "33.0.0"}}
    assert meta["hosts"] == [{"name": "src-aio", "address": "10.213.5.10", "groups": ["controller", "compute"]}]
    # No pid of the running lab leaks into the record; the source lab itself is unchanged.
    assert meta["lab"]["nodes"][0]["pid"] is None
    assert source.nodes[0].pid == 4242


@pytest.mark.parametrize(
    ("lab_name", "snap", "message"),
    [
        ("nosuch", "s1", "no lab named nosuch"),
        ("src", "Bad", "invalid snapshot name"),
        ("Src", "s1", "invalid lab name"),
        ("src", "taken", "snapshot taken already exists"),
    ],
)
def test_snapshot_bad_input_is_refused_before_anything_changes(state, lab_name, snap, message):
    write_snapshot("taken", lab.load("src"))
    before = tree(state)
    with pytest.raises(UsageError, match=message):
        snapshot.create(lab_name, snap)
    assert tree(state) == before


def test_snapshot_of_a_lab_never_deployed_is_refused(state):
    (lab.load("src").directory() / "clouds.yaml").unlink()
    before = tree(state)
    with pytest.raises(UsageError, match=r"lab src is not deployed .*aptstack deploy -i"):
        snapshot.create("src", "s1")
    assert tree(state) == before


def test_snapshot_that_does_not_fit_is_refused(state, monkeypatch):
    monkeypatch.setattr(snapshot, "disk_usage", lambda _path: 2**50)
    with pytest.raises(UsageError, match=r"not enough space for the snapshot .* it needs 1048576\.0 GiB"):
        snapshot.create("src", "s1")
    assert not snapshot.snapshot_dir("s1").exists()
    assert lab.load("src").nodes[0].pid is None


def test_restore_bad_input_is_refused_before_anything_changes(state):
    write_snapshot("s1", lab.load("src"))
    before = tree(state)
    with pytest.raises(UsageError, match="no snapshot named nope"):
        snapshot.restore("new", "nope")
    with pytest.raises(UsageError, match="lab src already exists"):
        snapshot.restore("src", "s1")
    # The source lab still holds the addresses the snapshot keeps.
    with pytest.raises(UsageError, match=r"which lab src uses; .*aptstack lab down --name src"):
        snapshot.restore("new", "s1")
    assert tree(state) == before


def test_a_second_restore_of_the_same_snapshot_is_refused(state):
    source = lab.load("src")
    write_snapshot("s1", source, used_by=["r1"])
    lab.save(lab.Lab("src", "aio", "resolute", 1, 1, "10.213.50.0/24", "10.213.51.0/24"))  # moved away
    with pytest.raises(UsageError) as caught:
        snapshot.restore("r2", "s1")
    message = str(caught.value)
    assert "snapshot s1 keeps the addresses of lab src (10.213.5.0/24), which lab r1 uses" in message
    assert "\n" not in message
    assert not (lab.labs_dir() / "r2").exists()


def test_address_conflict_with_routes_and_labs():
    meta = {"name": "s", "source_lab": "a", "subnet": "10.213.5.0/24", "tunnel_subnet": "10.213.6.0/24"}
    other = lab.Lab("o", "aio", "resolute", 1, 1, "10.213.7.0/24", "10.213.6.0/24")
    assert snapshot.address_conflict(meta, [], []) is None
    assert "which lab o uses" in snapshot.address_conflict(meta, [], [other])
    routed = [ipaddress.ip_network("10.213.0.0/16")]
    assert "already routed on this host" in snapshot.address_conflict(meta, routed, [])


def test_new_labs_do_not_take_a_snapshots_addresses(state):
    write_snapshot("s1", lab.load("src"))
    reserved = lab.snapshot_labs()
    assert [(r.name, r.subnet) for r in reserved] == [("src", "10.213.5.0/24")]
    found = lab.allocate_subnets(2, [ipaddress.ip_network("10.213.0.0/22")], reserved)
    assert [str(n) for n in found] == ["10.213.4.0/24", "10.213.7.0/24"]


def test_a_snapshot_still_being_made_is_not_listed(state):
    meta = write_snapshot("s1", lab.load("src"))
    building = snapshot.snapshot_dir(".s2.building")
    building.mkdir()
    (building / "snapshot.json").write_text(json.dumps({**meta, "name": "s2"}))
    assert [item["name"] for item in snapshot.listing()] == ["s1"]
    assert len(lab.snapshot_labs()) == 1


def test_remove_refuses_a_snapshot_a_lab_uses(state):
    write_snapshot("s1", lab.load("src"), used_by=["r1"])
    with pytest.raises(UsageError, match=r"lower layer of lab\(s\) r1; take them down first"):
        snapshot.remove("s1")
    assert snapshot.load("s1")
    assert [item["used_by"] for item in snapshot.listing()] == [["r1"]]


def test_remove_and_listing(state, monkeypatch):
    monkeypatch.setattr(host, "run", lambda argv, **_kw: __import__("shutil").rmtree(argv[-1]))
    write_snapshot("s1", lab.load("src"))
    listed = snapshot.listing()
    assert [(s["name"], s["release"], s["topology"], s["disk_bytes"], s["used_by"]) for s in listed] == [
        ("s1", "resolute", "aio", 123, [])
    ]
    snapshot.remove("s1")
    assert snapshot.listing() == []
    with pytest.raises(UsageError, match="no snapshot named s1"):
        snapshot.remove("s1")


def test_restored_lab_record_reads_older_lab_json_without_the_field():
    data = {
        "name": "old", "topology": "aio", "release": "resolute", "computes": 1, "lab_id": 3,
        "subnet": "10.213.9.0/24", "tunnel_subnet": "10.213.10.0/24", "nodes": [],
    }  # fmt: skip
    assert lab.Lab.from_json(data).snapshot is None


@pytest.mark.parametrize(
    ("auth_url", "expected"),
    [
        ("http://10.213.5.10:5000/v3", "http://10.213.5.10:5000/v3/auth/tokens"),
        ("http://10.213.5.10:5000/v3/", "http://10.213.5.10:5000/v3/auth/tokens"),
        ("http://10.213.5.10:5000", "http://10.213.5.10:5000/v3/auth/tokens"),
    ],
)
def test_token_request(auth_url, expected):
    cloud = {"auth": {"auth_url": auth_url, "username": "admin", "password": "pw", "project_name": "admin"}}
    url, body = snapshot.token_request(cloud)
    assert url == expected
    assert body["auth"]["identity"]["password"]["user"] == {
        "name": "admin",
        "password": "pw",
        "domain": {"name": "Default"},
    }
    assert body["auth"]["scope"]["project"]["name"] == "admin"


CATALOG = [
    {
        "type": "compute",
        "endpoints": [
            {"interface": "public", "region_id": "RegionOne", "url": "http://pub:8774/v2.1"},
            {"interface": "internal", "region_id": "RegionOne", "url": "http://int:8774/v2.1/"},
        ],
    },
    {"type": "network", "endpoints": [{"interface": "internal", "region_id": "RegionOne", "url": "http://int:9696"}]},
]


def test_endpoint_picks_interface_and_region():
    assert snapshot.endpoint(CATALOG, "compute", "internal", "RegionOne") == "http://int:8774/v2.1"
    assert snapshot.endpoint(CATALOG, "compute", "public", None) == "http://pub:8774/v2.1"
    with pytest.raises(AptstackError, match="no internal image endpoint"):
        snapshot.endpoint(CATALOG, "image", "internal", None)


def test_not_ready_names_what_is_missing():
    up = {"binary": "nova-compute", "host": "a", "state": "up"}
    down = {"binary": "nova-compute", "host": "b", "state": "down"}
    scheduler = {"binary": "nova-scheduler", "host": "a", "state": "down"}
    dead = {"agent_type": "OVN Controller agent", "host": "b", "alive": False}
    assert snapshot.not_ready([up, scheduler], [{"alive": True}]) == []
    assert snapshot.not_ready([scheduler], []) == ["no nova-compute service"]
    assert snapshot.not_ready([up, down], [dead]) == [
        "nova-compute on b is down",
        "OVN Controller agent on b is not alive",
    ]


def test_a_heartbeat_from_before_the_restore_does_not_count():
    # nova reads a heartbeat younger than service_down_time as up, also one the snapshot kept.
    restored_at = 1796335200.0  # 2026-12-03T22:00:00Z
    before = {"binary": "nova-compute", "host": "a", "state": "up", "updated_at": "2026-12-03T21:59:50.000000"}
    after = dict(before, updated_at="2026-12-03T22:00:07.000000")
    missing = {"binary": "nova-compute", "host": "a", "state": "up"}
    waiting = ["nova-compute on a has not reported since the restore"]
    assert snapshot.not_ready([before], [], reported_since=restored_at) == waiting
    assert snapshot.not_ready([missing], [], reported_since=restored_at) == waiting
    assert snapshot.not_ready([after], [], reported_since=restored_at) == []
    assert snapshot.not_ready([before], []) == []
    assert snapshot.not_ready([dict(before, state="down")], [], reported_since=restored_at) == [
        "nova-compute on a is down"
    ]


def test_wait_cloud_waits_for_compute_up(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  aptstack-admin:\n    auth: {auth_url: 'http://k:5000/v3', username: admin, password: p,"
        " project_name: admin}\n    region_name: RegionOne\n    interface: internal\n"
    )
    states = iter(["down", "down", "up"])
    calls = []

    def fake_request(url, token=None, body=None, timeout=10):
        calls.append(url)
        if url.endswith("/auth/tokens"):
            return {"X-Subject-Token": "t"}, {"token": {"catalog": CATALOG}}
        if url.endswith("/os-services"):
            return {}, {"services": [{"binary": "nova-compute", "host": "a", "state": next(states)}]}
        return {}, {"agents": [{"alive": True}]}

    monkeypatch.setattr(snapshot, "_request", fake_request)
    monkeypatch.setattr(snapshot.time, "sleep", lambda _s: None)
    timings = snapshot.wait_cloud(clouds)
    assert set(timings) == {"token_s", "apis_s", "compute_s", "agents_s", "cloud_s"}
    assert timings["compute_s"] >= timings["agents_s"]
    assert calls.count("http://int:8774/v2.1/os-services") == 3
    assert "http://int:9696/v2.0/agents" in calls
    # One token serves every poll.
    assert calls.count("http://k:5000/v3/auth/tokens") == 1


def test_wait_cloud_asks_for_a_new_token_when_refused(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  a:\n    auth: {auth_url: 'http://k:5000/v3', username: u, password: p, project_name: x}\n"
        "    interface: internal\n"
    )
    answers = iter([401, 503, 200])
    tokens = []

    def fake_request(url, token=None, body=None, timeout=10):
        if url.endswith("/auth/tokens"):
            tokens.append(f"t{len(tokens)}")
            return {"X-Subject-Token": tokens[-1]}, {"token": {"catalog": CATALOG}}
        if url.endswith("/os-services"):
            code = next(answers)
            if code != 200:
                raise urllib.error.HTTPError(url, code, "no", {}, None)
            return {}, {"services": [{"binary": "nova-compute", "host": "a", "state": "up"}]}
        return {}, {"agents": []}

    monkeypatch.setattr(snapshot, "_request", fake_request)
    monkeypatch.setattr(snapshot.time, "sleep", lambda _s: None)
    assert "cloud_s" in snapshot.wait_cloud(clouds)
    # The 401 dropped the first token; the 503 kept the second.
    assert tokens == ["t0", "t1"]


def test_wait_cloud_gives_up_naming_what_it_waited_for(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  a:\n    auth: {auth_url: 'http://k:5000/v3', username: u, password: p, project_name: x}\n"
    )

    def refused(*_args, **_kw):
        raise ConnectionRefusedError("Connection refused")

    monkeypatch.setattr(snapshot, "_request", refused)
    with pytest.raises(AptstackError, match="not answering after 0s: Connection refused"):
        snapshot.wait_cloud(clouds, timeout=0.01)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lab", "up", "--name", "n", "--from", "s", "--topology", "aio"], "leave out --topology"),
        (["lab", "up", "--name", "n", "--from", "s", "--subnet", "10.9.0.0/24"], "leave out --subnet"),
        (["lab", "snapshot", "--name", "src"], "required: --as"),
        (["lab", "snapshot-remove"], "required: --name"),
        (["lab", "snapshot", "--name", "src", "--as", "Bad"], "invalid snapshot name"),
    ],
)
def test_cli_bad_input_is_one_line_and_status_2(argv, message, capsys, state):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_cli_lists_snapshots_as_json(state, capsys):
    write_snapshot("s1", lab.load("src"))
    assert cli.main(["lab", "snapshots", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in listed] == ["s1"]
    assert cli.main(["lab", "snapshots"]) == 0
    assert capsys.readouterr().out.startswith("s1 ")


@pytest.mark.parametrize(
    ("started_hosts", "deployed", "waits"), [(True, True, True), (False, True, False), (True, False, False)]
)
def test_lab_up_of_a_halted_deployed_lab_waits_for_its_cloud(
    state, monkeypatch, capsys, started_hosts, deployed, waits
):
    source = lab.load("src")
    monkeypatch.setattr(lab, "up", lambda *_args, **_kwargs: (source, started_hosts))
    monkeypatch.setattr(snapshot, "is_deployed", lambda _lab: deployed)
    waited = []

    def wait(the_lab, _started, _started_wall):
        waited.append(the_lab.name)
        return {"hosts_s": 5.0, "compute_s": 20.0, "total_s": 20.0}

    monkeypatch.setattr(snapshot, "wait_started_cloud", wait)
    assert cli.main(["lab", "up", "--name", "src", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert waited == (["src"] if waits else [])
    assert ("start_s" in printed) is waits
    assert "restore_s" not in printed


def test_up_waits_for_a_halted_deployed_lab_before_its_deploy(state, monkeypatch, capsys):
    source = lab.load("src")
    monkeypatch.setattr(lab, "up", lambda *_args, **_kwargs: (source, True))
    steps = []
    monkeypatch.setattr(snapshot, "wait_started_cloud", lambda the_lab, *_times: steps.append("wait") or {"total_s": 1})
    # The first playbook fails, so that nothing after it runs; the wait must have come before it.
    monkeypatch.setattr(cli.runner, "run_playbook", lambda argv, **_kwargs: steps.append(argv[3]) or 2)
    monkeypatch.setattr(cli, "_with_diagnostics", lambda _inventory, status, *_args, **_kwargs: status)
    monkeypatch.setattr(lab, "node_memory", lambda *_args: None)
    assert cli.main(["up", "--name", "src"]) == 2
    assert steps == ["wait", f"{cli.runner.COLLECTION}.site"]


@pytest.mark.parametrize("created", [True, False])
def test_a_failed_start_removes_a_new_lab_and_keeps_one_that_existed(state, monkeypatch, created):
    source = lab.load("src")
    monkeypatch.setattr(lab, "setup_network", lambda _lab: None)
    monkeypatch.setattr(lab, "prepare_node_root", lambda *_args: None)
    monkeypatch.setattr(lab, "node_state", lambda *_args: "stopped")
    monkeypatch.setattr(lab, "start_node", lambda *_args: None)
    monkeypatch.setattr(lab.rootfs, "ensure_rootfs", lambda *_args: None)
    (source.directory() / "id_ed25519").write_text("key\n")

    def no_ssh(_lab, node):
        raise AptstackError(f"{node.hostname}: no SSH")

    monkeypatch.setattr(lab, "known_hosts_lines", lambda _lab: [])
    monkeypatch.setattr(lab, "wait_running", lambda *_args: None)
    monkeypatch.setattr(lab, "wait_ssh", no_ssh)
    halted, removed = [], []
    monkeypatch.setattr(lab, "halt_nodes", lambda the_lab, **_kwargs: halted.append(the_lab.name))
    monkeypatch.setattr(lab, "down", lambda name, **_kwargs: removed.append(name))
    with pytest.raises(AptstackError, match="no SSH"):
        lab._start(source, log=lambda _msg: None, created=created)
    assert (removed, halted) == ((["src"], []) if created else ([], ["src"]))
