"""Local mode (`--local`): the generated inventory, the argv it leads to, and what it imports."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aptstack import cli, local, runner
from aptstack.errors import UsageError

from .source_files import ROOT

# Modules the local mode may import beyond the standard library, and the distribution package
# that ships each (debian/tests/control depends on them).
DRIVER_MODULES = {"aptstack": None, "yaml": "python3-yaml", "_yaml": "python3-yaml"}
# What the collection's Python plugins may import beyond the standard library: Ansible itself
# and its collections ('ansible' and 'ansible-core'), and distribution packages.
PLUGIN_MODULES = {
    "ansible": "ansible-core",
    "ansible_collections": "ansible",
    "yaml": "python3-yaml",
    "apt_pkg": "python3-apt",
}
# Imported only when there (a module fails with missing_required_lib otherwise), by a check the
# autopkgtest does not run: the Horizon check's browser driver (python3-selenium in the archive).
OPTIONAL_PLUGIN_MODULES = {"selenium": "python3-selenium"}
# Imported on a deployed controller from the packages under test (python3-oslo.messaging and
# python3-oslo.config come with nova): rpc_probe times RPC calls with the cloud's own library.
DEPLOYED_PLUGIN_MODULES = {"oslo_messaging": "python3-oslo.messaging", "oslo_config": "python3-oslo.config"}


@pytest.mark.parametrize(
    ("hostname", "name"),
    [("apk15-aio", "apk15-aio"), ("node1.lab.test", "node1"), ("localhost", "aio"), ("", "aio")],
)
def test_inventory_name_is_the_short_host_name_unless_reserved(hostname, name):
    assert local.inventory_name(hostname) == name


@pytest.mark.parametrize("networkd", [True, False])
def test_local_inventory_is_one_host_in_both_groups_over_the_local_connection(networkd):
    inventory = local.local_inventory("testbed", networkd, "192.0.2.10")
    groups = inventory["all"]["children"]
    assert groups == {"controller": {"hosts": {"testbed": {}}}, "compute": {"hosts": {"testbed": {}}}}
    variables = inventory["all"]["vars"]
    assert variables["ansible_connection"] == "local"
    # The controller's clients read its address from the inventory, not from its facts.
    assert variables["ansible_host"] == variables["aptstack_management_address"] == "192.0.2.10"
    assert variables["ansible_python_interpreter"] == "/usr/bin/python3"
    # The testbed's own sources (and autopkgtest's -proposed pins) must stay as they are.
    assert variables["aptstack_apt_manage_sources"] is False
    assert variables["ovn_chassis_networkd_persist"] is networkd


def test_local_inventory_passes_the_collection_input_check(tmp_path):
    """The variables it sets are declared with these types by the roles' argument specs."""
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(local.local_inventory("testbed", False, "192.0.2.10")))
    runner.check_inputs(str(path))


def test_write_inventory_needs_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(UsageError, match="must run as root"):
        local.write_inventory(tmp_path / "local")
    assert not (tmp_path / "local").exists()


def test_write_inventory_keeps_an_unchanged_file(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(local.socket, "gethostname", lambda: "testbed.example")
    monkeypatch.setattr(local, "networkd_active", lambda: True)
    monkeypatch.setattr(local, "default_address", lambda: "192.0.2.10")
    path = local.write_inventory(tmp_path / "local")
    assert path == tmp_path / "local" / "inventory.yml"
    assert (tmp_path / "local").stat().st_mode & 0o777 == 0o700
    assert yaml.safe_load(path.read_text())["all"]["children"]["controller"]["hosts"] == {"testbed": {}}
    os.utime(path, (1, 1))
    local.write_inventory(tmp_path / "local")
    assert path.stat().st_mtime == 1


def test_default_address_is_one_of_this_machines_ipv4_addresses():
    lines = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True).stdout
    addresses = {line.split()[3].split("/")[0] for line in lines.splitlines()}
    assert local.default_address() in addresses | {"127.0.0.1"}


def test_local_dir_follows_the_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path))
    assert local.local_dir() == tmp_path / "local"


@pytest.mark.parametrize("command", ["deploy", "verify", "teardown", "versions", "diagnose"])
def test_local_and_an_inventory_exclude_each_other(command, capsys):
    assert cli.main([command, "--local", "-i", "inv.yml"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_inventory_or_local_is_required(capsys):
    assert cli.main(["deploy"]) == 2
    assert "one of the arguments -i/--inventory --local is required" in capsys.readouterr().err


def test_deploy_local_runs_site_on_the_written_inventory(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", "/root/src")
    inventory = tmp_path / "local" / "inventory.yml"
    monkeypatch.setattr(local, "write_inventory", lambda: inventory)
    monkeypatch.setattr(runner, "check_inputs", lambda *args: None)
    runs = []
    monkeypatch.setattr(runner, "run_playbook", lambda argv, env=None, stdout=None: runs.append(argv) or 0)
    assert cli.main(["deploy", "--local", "-e", "a=1"]) == 0
    assert runs[0][1:] == ["-i", str(inventory), "aptstack.openstack.site", "-e", "a=1"]
    # Ansible's local connection hands its environment to the services' tools.
    assert "PYTHONPATH" not in os.environ


def test_without_mitogen_the_strategy_is_ansibles_own(monkeypatch):
    """The distribution has no mitogen: the driver must then leave the strategy alone."""
    monkeypatch.delenv("ANSIBLE_STRATEGY", raising=False)
    monkeypatch.delenv("APTSTACK_MITOGEN", raising=False)
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda name: None)
    env = runner.ansible_env()
    assert "ANSIBLE_STRATEGY" not in env
    assert "ANSIBLE_STRATEGY_PLUGINS" not in env


def test_the_driver_imports_only_the_standard_library_and_python3_yaml():
    """What `python3 -m aptstack deploy --local` loads, in a fresh interpreter."""
    code = (
        "import json, sys; before = set(sys.modules); import aptstack.cli, aptstack.local; "
        "print(json.dumps(sorted({name.split('.')[0] for name in set(sys.modules) - before})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    # python3-yaml's C extension is built with Cython, whose runtime registers these two.
    loaded = {name for name in json.loads(done.stdout) if not name.startswith(("_cython_", "cython_runtime"))}
    outside = sorted(loaded - set(sys.stdlib_module_names) - set(sys.builtin_module_names) - set(DRIVER_MODULES))
    assert outside == []


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("tree", ["plugins", "src/aptstack"])
def test_python_code_imports_only_distribution_packages(tree):
    """No import of the collection's plugins or of the driver needs a package from outside the
    distribution (the autopkgtest testbed has nothing else)."""
    allowed = set(sys.stdlib_module_names) | set(PLUGIN_MODULES) | set(DRIVER_MODULES) | {"__future__"}
    allowed |= set(OPTIONAL_PLUGIN_MODULES) | set(DEPLOYED_PLUGIN_MODULES) if tree == "plugins" else set()
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / tree).rglob("*.py"))
        for name in _top_level_imports(path)
        if name not in allowed
    }
    assert sorted(found) == []


def _control_fields() -> dict:
    fields, key = {}, None
    for line in (ROOT / "debian" / "tests" / "control").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0].isspace():
            fields[key] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_autopkgtest_control_depends_on_what_local_mode_imports_and_runs():
    fields = _control_fields()
    depends = {item.strip().split()[0] for item in fields["Depends"].split(",") if item.strip()}
    needed = {package for package in {*DRIVER_MODULES.values(), *PLUGIN_MODULES.values()} if package}
    assert needed | {"python3-openstacksdk"} <= depends
    assert {item.strip() for item in fields["Restrictions"].split(",")} >= {"needs-root", "isolation-machine"}
    for test in fields["Tests"].split():
        script = ROOT / "debian" / "tests" / test
        assert script.is_file() and os.access(script, os.X_OK)
