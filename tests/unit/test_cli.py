import argparse
import json

import pytest

from aptstack import __version__, cli, runner


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lab", "up", "--name", "t", "--topology", "mesh"], "invalid choice: 'mesh'"),
        (["lab", "up", "--name", "t", "--release", "bionic"], "invalid choice: 'bionic'"),
        (["lab", "up"], "required: --name"),
        (["frobnicate"], "invalid choice"),
        (["deploy", "-i", "/nonexistent/inventory.yml"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_playbook_argv_is_a_list_with_fqcn_playbook():
    argv = runner.playbook_argv("site", "inv.yml", ["a=1"], tags="keystone", verbose=2)
    assert argv[1:] == ["-i", "inv.yml", "aptstack.openstack.site", "-e", "a=1", "--tags", "keystone", "-vv"]


def test_collections_path_puts_venv_first(monkeypatch):
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", "/elsewhere")
    paths = runner.collections_path().split(":")
    assert paths[0].endswith("share/aptstack/collections")
    assert paths[-1] == "/elsewhere"


def test_up_summary_names_each_server_and_each_host_memory():
    class FakeLab:
        name, topology, release = "sc", "controller-compute", "resolute"

    check = {
        "timings": {"first_ping_s": 46.3},
        "servers": [
            {"inventory_host": "sc-compute1", "timings": {"first_ping_s": 46.3}},
            {"inventory_host": "sc-compute2", "timings": {"first_ping_s": 46.0}},
        ],
    }
    memory = {"sc-controller": 2 * 2**30, "sc-compute1": 2**29, "sc-compute2": None}
    text = cli.format_up_summary(FakeLab(), "/inv.yml", {"deploy": 600.0}, {"common": 200.0}, check, 0, memory)
    assert "server:     sc-compute2 first ping 46.0s" in text
    assert "memory:     sc-controller 2.00 GiB, sc-compute1 0.50 GiB" in text
    assert "deploy by role: common 200s" in text
    assert text.rstrip().endswith("result:     OK")
    assert "heat:" not in text
    check["heat"] = {"status": "CREATE_COMPLETE", "create_s": 39.0, "ping_s": 8.4, "delete_s": 20.3}
    text = cli.format_up_summary(FakeLab(), "/inv.yml", {"deploy": 600.0}, {}, check, 0, memory)
    assert "heat:       stack CREATE_COMPLETE, create 39.0s, floating ping 8.4s, delete 20.3s" in text
    assert "horizon:" not in text
    check["horizon"] = {"listed": ["v-server"], "login_s": 3.1, "instances_s": 2.2, "total_s": 6.0}
    check["horizon"]["screenshot"] = "/s.png"
    text = cli.format_up_summary(FakeLab(), "/inv.yml", {"deploy": 600.0}, {}, check, 0, memory)
    assert "horizon:    instances page lists v-server, login 3.1s, page 2.2s, total 6.0s" in text
    assert "screenshot: /s.png" in text
    assert "rpc:" not in text
    check["rpc"] = {"median_ms": 501.7, "oslo_messaging": "17.3.0", "error": None}
    text = cli.format_up_summary(FakeLab(), "/inv.yml", {"deploy": 600.0}, {}, check, 0, memory)
    assert "rpc:        501.7 ms per call to nova-conductor (oslo.messaging 17.3.0)" in text
    check["rpc"] = {"median_ms": None, "oslo_messaging": "17.3.0", "error": "RPC call oslo_rpc_server_ping failed"}
    text = cli.format_up_summary(FakeLab(), "/inv.yml", {"deploy": 600.0}, {}, check, 0, memory)
    assert "rpc:        not measured: RPC call oslo_rpc_server_ping failed" in text


def test_ansible_runs_with_mitogen_unless_turned_off(monkeypatch):
    monkeypatch.delenv("ANSIBLE_STRATEGY", raising=False)
    monkeypatch.delenv("APTSTACK_MITOGEN", raising=False)
    env = runner.ansible_env()
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (runner.Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()

    monkeypatch.setenv("APTSTACK_MITOGEN", "0")
    assert "ANSIBLE_STRATEGY" not in runner.ansible_env()


def test_a_strategy_the_caller_chose_wins(monkeypatch):
    monkeypatch.delenv("APTSTACK_MITOGEN", raising=False)
    monkeypatch.setenv("ANSIBLE_STRATEGY", "linear")
    assert runner.ansible_env()["ANSIBLE_STRATEGY"] == "linear"


@pytest.fixture
def empty_debs(tmp_path):
    directory = tmp_path / "debs"
    directory.mkdir()
    return directory


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--proposed", "nova,Bad Name"], "'Bad Name' is not a source package name"),
        (["--ppa", "not-a-ppa", "--ppa-key", "/etc/hostname"], "is not of the form owner/name"),
        (["--ppa", "owner/name"], "PPA owner/name needs key"),
        (["--ppa-key", "/etc/hostname"], "--ppa-key needs --ppa"),
        (["--ppa", "owner/name", "--ppa-key", "/nonexistent.asc"], "key file /nonexistent.asc does not exist"),
        (["--cloud-archive", "Epoxy!"], "is not an OpenStack release name"),
        (["--debs", "/nonexistent/debs"], "overlay directory /nonexistent/debs does not exist"),
        (["--debs", "EMPTY"], "holds no .deb file"),
    ],
)
@pytest.mark.parametrize("command", ["deploy", "up"])
def test_bad_package_sources_are_one_line_and_status_2_before_anything(
    command, options, message, empty_debs, tmp_path, capsys, monkeypatch
):
    options = [str(empty_debs) if option == "EMPTY" else option for option in options]
    touched = []
    monkeypatch.setattr(cli.lab, "up", lambda *a, **k: touched.append("lab up"))
    monkeypatch.setattr(cli.runner, "run_playbook", lambda *a, **k: touched.append("ansible-playbook"))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all: {}\n")
    argv = [command, *(["-i", str(inventory)] if command == "deploy" else ["--name", "t"]), *options]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert touched == []


def test_package_source_options_become_one_extra_var(tmp_path):
    debs = tmp_path / "debs"
    debs.mkdir()
    args = cli.build_parser().parse_args(["deploy", "-i", "inv", "--proposed", "nova, neutron"])
    assert cli.sources.entries(args) == [{"pocket": "proposed", "packages": ["nova", "neutron"]}]
    args = cli.build_parser().parse_args(["up", "--proposed", "--cloud-archive", "epoxy-proposed"])
    assert cli.sources.extra_vars(args) == [
        '{"aptstack_package_sources": [{"pocket": "proposed"}, {"cloud_archive": "epoxy-proposed"}]}'
    ]


def test_versions_reports_name_what_came_from_a_source_under_test(tmp_path):
    versions = tmp_path / "versions"
    versions.mkdir()
    report = {
        "release": "resolute",
        "package_sources": [{"debs": "/srv/debs"}],
        "packages": [
            {"package": "nova-common", "source": "nova", "version": "3:33.0.0+local1", "origin": "local overlay"},
            {"package": "ovn-host", "source": "ovn", "version": "26.03.0-2", "origin": "release"},
        ],
        "notes": ["resolute-proposed has nothing newer of source package nova: its binaries stay at 1 from release"],
    }
    report["under_test"] = report["packages"][:1]
    (versions / "h1.json").write_text(cli.json.dumps(report))
    reports = cli.sources.read_reports(str(tmp_path / "inventory.yml"))
    assert cli.sources.under_test_lines(reports) == [
        "h1: from local overlay: nova-common 3:33.0.0+local1",
        "h1: resolute-proposed has nothing newer of source package nova: its binaries stay at 1 from release",
    ]
    table = cli.sources.format_reports(reports).splitlines()
    assert table[0] == "== h1 (resolute)"
    assert table[2].split() == ["nova-common", "nova", "3:33.0.0+local1", "local", "overlay"]
    assert table[-1].startswith("note: resolute-proposed has nothing newer")


def test_unreachable_host_is_one_cause_and_no_diagnostics_run(tmp_path, capfd):
    inventory = tmp_path / "inventory.yml"
    host = "{ghost: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_user: nobody}}"
    inventory.write_text(
        f"all:\n  children:\n    controller: {{hosts: {host}}}\n    compute: {{hosts: {{ghost: {{}}}}}}\n"
    )
    status = cli.main(["verify", "-i", str(inventory), "--json"])
    out, err = capfd.readouterr()
    assert status != 0
    result = json.loads(out)
    assert result["result"] == "failed"
    assert result["failures"] == ["host ghost unreachable: ssh: connect to host 127.0.0.1 port 1: Connection refused"]
    # Said once in the run's FAILED TASKS block, on one line; no second attempt to reach it for diagnostics.
    assert [line for line in err.splitlines() if line.startswith("ghost | ")] == [
        "ghost | unreachable | ssh: connect to host 127.0.0.1 port 1: Connection refused"
    ]
    assert "collecting diagnostics" not in err
    assert "wrote no report" not in err
    assert not (tmp_path / "diagnostics").exists()


def test_a_refused_setting_is_one_line_and_no_diagnostics_run(monkeypatch, capsys):
    collected = []
    monkeypatch.setattr(cli, "collect_diagnostics", lambda *a, **k: collected.append(a))
    refused = {"host": "h1", "role": "versions", "task": "Check the settings", "kind": "failed", "preflight": True}
    record = {"failed": True, "failures": [{**refused, "message": "versions_host_dir must be an absolute path"}]}
    assert cli._with_diagnostics("inventory.yml", 2, record=record) == 2
    assert collected == []
    assert capsys.readouterr().err.splitlines() == [
        "aptstack: a setting was refused: h1: versions : Check the settings: versions_host_dir must be an absolute path"
    ]
    # A run where anything else failed too still gets its diagnostics.
    broken = {**refused, "task": "Start the units", "preflight": False, "message": "unit failed"}
    assert cli._with_diagnostics("inventory.yml", 2, record={**record, "failures": [*record["failures"], broken]}) == 2
    assert len(collected) == 1


def test_verify_result_fails_whenever_the_run_did_not_pass():
    passed = {"result": "passed", "failures": []}
    assert cli.verify_result(passed, 0, {}) == passed
    record = {
        "failures": [{"host": "c", "kind": "failed", "role": "verify", "task": "Finish", "message": "boom\nmore"}]
    }
    assert cli.verify_result(passed, 2, record) == {"result": "failed", "failures": ["c: verify : Finish: boom"]}
    assert cli.verify_result({}, 0, {})["failures"] == ["the check wrote no result (exit 0)"]


def test_every_option_has_help_and_choices_are_listed(capsys):
    def walk(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    for parser in walk(cli.build_parser()):
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{parser.prog} {action.option_strings[0]} has no help"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["lab", "up", "--help"])
    text = capsys.readouterr().out
    assert "{resolute,noble,trixie}" in text
    assert "{aio,controller-compute}" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"aptstack {__version__}"


@pytest.mark.parametrize("command", ["deploy", "up"])
def test_an_unknown_optional_service_is_refused_before_anything(command, tmp_path, capsys, monkeypatch):
    touched = []
    monkeypatch.setattr(cli.lab, "up", lambda *a, **k: touched.append("lab up"))
    monkeypatch.setattr(cli.runner, "run_playbook", lambda *a, **k: touched.append("ansible-playbook"))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  children:\n    controller: {hosts: {h: {ansible_host: 127.0.0.1}}}\n    compute: {hosts: {h: {}}}\n"
    )
    argv = [command, *(["-i", str(inventory)] if command == "deploy" else ["--name", "t"]), "--with", "heat,swift"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "aptstack: error: aptstack_services: unknown swift (choose from cinder, heat, horizon) (extra variable)"
    )
    assert touched == []


def test_with_becomes_the_services_variable():
    args = cli.build_parser().parse_args(["up", "--with", "heat, cinder"])
    assert cli.services_vars(args) == ['{"aptstack_services": ["heat", "cinder"]}']
    assert cli.services_vars(cli.build_parser().parse_args(["deploy", "-i", "inv"])) == []
