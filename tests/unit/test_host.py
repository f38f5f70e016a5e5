from aptstack import host


def test_apt_source_uris_reads_both_formats(tmp_path, monkeypatch):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text("# comment\ndeb [arch=amd64] http://a.example/debian bookworm main\n")
    (etc / "sources.list.d" / "x.sources").write_text("Types: deb\nURIs: http://b.example/debian\n")
    monkeypatch.setattr(host, "Path", lambda p: etc if p == "/etc/apt" else __import__("pathlib").Path(p))
    assert host.apt_source_uris() == ["http://a.example/debian", "http://b.example/debian"]


def test_each_lab_host_gets_its_own_cgroup_in_every_hierarchy_of_a_hybrid_host(tmp_path):
    for hierarchy in ("unified", "systemd"):
        (tmp_path / hierarchy).mkdir()
        (tmp_path / hierarchy / "cgroup.procs").write_text("")
    (tmp_path / "memory").mkdir()
    controller = host.node_cgroups("cc", "cc-controller", mount=tmp_path)
    compute = host.node_cgroups("cc", "cc-compute1", mount=tmp_path)
    assert controller == [
        tmp_path / "unified/aptstack/cc/cc-controller",
        tmp_path / "systemd/aptstack/cc/cc-controller",
    ]
    assert not set(controller) & set(compute)


def test_a_unified_host_has_one_hierarchy(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    assert host.node_cgroups("aio", "aio-aio", mount=tmp_path) == [tmp_path / "aptstack/aio/aio-aio"]


def test_removing_a_lab_hosts_cgroups_removes_emptied_parents_only(tmp_path):
    node = tmp_path / "aptstack" / "cc" / "cc-compute1"
    (node / "payload" / "system.slice").mkdir(parents=True)
    (node / "supervisor").mkdir()
    other = tmp_path / "aptstack" / "cc" / "cc-controller" / "payload"
    other.mkdir(parents=True)
    host.remove_cgroups([node])
    assert not node.exists()
    assert other.is_dir()
    host.remove_cgroups([other.parent])
    assert not (tmp_path / "aptstack").exists()
