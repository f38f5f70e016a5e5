import pytest

from aptstack import cli, runner


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lab", "up", "--name", "t", "--topology", "mesh"], "unknown topology"),
        (["lab", "up", "--name", "t", "--release", "bionic"], "unknown release"),
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
