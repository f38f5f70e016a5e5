from aptstack import host


def test_apt_source_uris_reads_both_formats(tmp_path, monkeypatch):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text("# comment\ndeb [arch=amd64] http://a.example/debian bookworm main\n")
    (etc / "sources.list.d" / "x.sources").write_text("Types: deb\nURIs: http://b.example/debian\n")
    monkeypatch.setattr(host, "Path", lambda p: etc if p == "/etc/apt" else __import__("pathlib").Path(p))
    assert host.apt_source_uris() == ["http://a.example/debian", "http://b.example/debian"]
