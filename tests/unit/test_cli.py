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
