"""Tags select what a user expects: `--tags <role>` runs that role, `--tags <phase>` that phase.

Runs ansible-playbook --list-tasks on the aio example inventory (no host is contacted)
and reads the task list with each task's tags.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .source_files import ROOT
from .topology_roles import OPTIONAL_ROLES, ROLES

INVENTORY = ROOT / "inventories" / "aio" / "hosts.yml"
LINE = re.compile(r"^ {6}(?:(?P<role>[\w.]+) : )?(?P<name>.*)\tTAGS: \[(?P<tags>[^\]]*)\]$")


def list_tasks(*args):
    playbook = str(Path(sys.executable).with_name("ansible-playbook"))
    argv = [playbook, "aptstack.openstack.site", "-i", str(INVENTORY), "--list-tasks", *args]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    tasks = []
    for line in done.stdout.splitlines():
        match = LINE.match(line)
        if match:
            role = (match["role"] or "").removeprefix("aptstack.openstack.")
            tags = {tag.strip() for tag in match["tags"].split(",") if tag.strip()}
            tasks.append((role, match["name"], tags))
    return tasks


@pytest.fixture(scope="module")
def all_tasks():
    return list_tasks()


def test_every_task_of_a_topology_role_carries_its_role_tag(all_tasks):
    for role, name, tags in all_tasks:
        if role in ROLES:
            assert role in tags, (role, name, tags)
        if role == "service_common":
            assert tags & set(ROLES) or "common" in tags, (name, tags)


def test_host_basics_are_listed_once(all_tasks):
    common = [name for role, name, _ in all_tasks if role == "common"]
    assert common and len(common) == len(set(common))


def test_shared_settings_are_listed_once(all_tasks):
    # Every role depends on the aptstack role for its defaults; its tasks run in one play.
    settings = [name for role, name, _ in all_tasks if role == "aptstack"]
    assert "Load secrets" in settings
    assert len(settings) == len(set(settings))


def test_tags_keystone_runs_keystone_and_what_it_needs():
    tasks = list_tasks("--tags", "keystone")
    keystone = [(role, name) for role, name, tags in tasks if "keystone" in tags and "always" not in tags]
    names = {name for _, name in keystone}
    # Keystone's own tasks, and the shared steps it imports (packages, config, Apache site, ...).
    assert {"Create the service project", "Wait for the identity API"} <= names
    assert {"Render configuration files", "Render the Apache site of {{ service_common_wsgi.name }}"} <= names
    assert "Run {{ service_common_db_sync.argv | join(' ') }}" in names  # the schema sync
    assert sum(role == "service_common" for role, _ in keystone) >= 10
    # Nothing else, apart from tasks every run needs (secrets, settings, argument checks).
    for role, name, tags in tasks:
        assert "keystone" in tags or "always" in tags, (role, name, tags)


def test_tags_config_runs_the_config_phase_of_every_role():
    tasks = list_tasks("--tags", "config")
    selected = [(role, name, tags) for role, name, tags in tasks if "always" not in tags]
    assert all("config" in tags for _, _, tags in selected)
    configured = {tag for _, _, tags in selected for tag in tags} & set(ROLES)
    expected = {"keystone", "glance", "placement", "nova_controller", "neutron", "nova_compute", "ovn_chassis"}
    assert expected <= configured
    names = {name for _, name, _ in selected}
    assert "Render configuration files" in names
    assert "Find which packages are not installed yet" not in names


PHASES = {"always", "install", "config", "db", "service", "register"}


@pytest.mark.parametrize("role", OPTIONAL_ROLES)
def test_optional_roles_tag_their_phases(role):
    """site.yml includes an optional service's roles (--list-tasks shows the include, not their
    tasks); their phases carry the phase tags as the listed roles' do, so --tags config selects
    their config phase once the include applies the role's tag."""
    imports = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    tags = [set(entry.get("tags", [])) for entry in imports]
    assert all(entry and entry <= PHASES for entry in tags), (role, tags)
    assert {"always"} in tags and {"config"} in tags, (role, tags)
