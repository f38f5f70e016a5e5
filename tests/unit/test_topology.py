"""site.yml runs exactly the roles playbooks/vars/topology.yml declares, on those groups.

The topology is the list the host-basics play installs packages from; a role added to a
play but not to the topology (or the other way round) would install late or not at all.
"""

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from .source_files import ROOT
from .topology_roles import ROLES, SERVICE_TOPOLOGY, TOPOLOGY, TOPOLOGY_FILE

SITE = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
PREFIX = "aptstack.openstack."


def _short(name):
    return name.removeprefix(PREFIX)


def roles_per_group_in_site():
    """Roles of each group in play order: roles: entries and whole-role imports (not tasks_from entry points).
    The optional services' roles (included from aptstack_service_topology) are left out."""
    groups = {}
    for play in SITE:
        if "hosts" not in play:  # an imported playbook (the input check), no roles of the topology
            continue
        roles = [_short(entry["role"]) for entry in play.get("roles", [])]
        for task in play.get("tasks", []):
            imported = task.get("ansible.builtin.import_role")
            if imported and "tasks_from" not in imported:
                roles.append(_short(imported["name"]))
        for group in play["hosts"].split(":"):
            for role in roles:
                if role != "common" and role not in groups.setdefault(group, []):
                    groups[group].append(role)
    return groups


def test_site_runs_the_declared_topology():
    assert roles_per_group_in_site() == TOPOLOGY


def test_host_basics_come_first_and_use_the_topology():
    # Only the input check, which contacts no host, and the shared settings (facts and the
    # secrets on the Ansible side) come before them.
    assert SITE[0]["ansible.builtin.import_playbook"] == "aptstack.openstack.check_inputs"
    assert SITE[1]["ansible.builtin.import_playbook"] == "aptstack.openstack.settings"
    first = SITE[2]
    assert first["hosts"] == "controller:compute"
    assert [entry["role"] for entry in first["roles"]] == [PREFIX + "common"]
    assert "vars/topology.yml" in first["vars_files"]
    assert first["roles"][0]["common_prefetch_roles"] == "{{ site_host_roles }}"
    assert "aptstack_topology" in first["vars"]["site_host_roles"]


def test_every_role_is_checked_before_anything_changes():
    """The host-basics play runs every role's preflight first, from the same list it installs from."""
    (check,) = SITE[2]["pre_tasks"]
    included = check["ansible.builtin.include_role"]
    assert included["name"] == "aptstack.openstack.{{ site_checked_role }}"
    assert included["tasks_from"] == "preflight"
    assert included["apply"] == {"tags": ["always"], "any_errors_fatal": True}
    assert check["tags"] == ["always"]
    assert check["loop"] == "{{ site_host_roles }}"
    assert check["loop_control"] == {"loop_var": "site_checked_role"}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_of_the_topology_has_a_preflight(role):
    """The check above includes each role's preflight; each role's main imports it first, under every tag."""
    assert (ROOT / "roles" / role / "tasks" / "preflight.yml").is_file()
    main = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    assert main[0]["ansible.builtin.import_tasks"] == "preflight.yml"
    assert main[0]["tags"] == ["always"]


def test_roles_share_only_the_settings_role():
    """Host basics are a play, not a dependency: every role depends on aptstack alone."""
    for meta in sorted(ROOT.glob("roles/*/meta/main.yml")):
        role = meta.parent.parent.name
        dependencies = yaml.safe_load(meta.read_text()).get("dependencies") or []
        names = [_short(dep["role"] if isinstance(dep, dict) else dep) for dep in dependencies]
        assert names in ([], ["aptstack"]), (role, names)


def optional_role_includes():
    """group -> the include_role tasks of the play on that group (site.yml's plays are on one group each)."""
    includes = {}
    for play in SITE:
        for task in play.get("tasks", []) if "hosts" in play else []:
            if "ansible.builtin.include_role" in task:
                includes.setdefault(play["hosts"], []).append(task)
    return includes


def optional_roles(group, services):
    """The roles site.yml's include for group runs with aptstack_services=services: its loop, templated
    by Ansible with the topology file's variables."""
    (task,) = optional_role_includes()[group]
    templar = Templar(loader=DataLoader(), variables={**TOPOLOGY_FILE, "aptstack_services": services})
    return templar.template(trust_as_template(task["loop"]))


def test_one_optional_role_include_per_group_with_optional_roles():
    groups = {group for service in SERVICE_TOPOLOGY.values() for group in service}
    includes = optional_role_includes()
    assert sorted(includes) == sorted(groups)
    assert all(len(tasks) == 1 for tasks in includes.values()), includes
    for play in SITE:
        if any("ansible.builtin.include_role" in task for task in play.get("tasks", [])):
            assert "vars/topology.yml" in play.get("vars_files", []), play["name"]


def test_optional_roles_are_tagged_like_the_listed_ones():
    """The include is tagged always (its roles' own preflights decide, as in a listed role) and gives
    each role's tasks the role's name as a tag, so that --tags ROLE and --skip-tags ROLE select it; it
    comes after the listed roles of its play only as a play's tasks do. Its loop variable is not item,
    which the included roles' own loops use."""
    for group, (task,) in optional_role_includes().items():
        loop_var = task["loop_control"]["loop_var"]
        assert loop_var != "item", group
        included = task["ansible.builtin.include_role"]
        assert included["name"] == PREFIX + "{{ " + loop_var + " }}", group
        assert included["apply"] == {"tags": ["{{ " + loop_var + " }}"]}, group
        assert task["tags"] == ["always"], group
        assert "when" not in task, group
        assert "aptstack_service_topology" in task["loop"] and f"'{group}'" in task["loop"], group


@pytest.mark.parametrize(
    ("services", "controller", "compute"),
    [
        ([], [], []),
        (["heat"], ["heat"], []),
        (["horizon", "cinder"], ["ceph", "cinder", "horizon"], ["ceph_client"]),
        (["cinder", "heat", "horizon"], ["ceph", "cinder", "heat", "horizon"], ["ceph_client"]),
        (["horizon", "heat", "cinder"], ["ceph", "cinder", "heat", "horizon"], ["ceph_client"]),
    ],
)
def test_optional_roles_follow_the_service_topology_in_its_order(services, controller, compute):
    assert optional_roles("controller", services) == controller
    assert optional_roles("compute", services) == compute
    for group, roles in (("controller", controller), ("compute", compute)):
        declared = [
            role for name, groups in SERVICE_TOPOLOGY.items() if name in services for role in groups.get(group, [])
        ]
        assert roles == declared


def test_no_listed_role_is_conditional():
    for play in SITE:
        for entry in play.get("roles", []) if "hosts" in play else []:
            assert "when" not in entry, entry["role"]


def test_every_optional_service_is_a_choice_of_aptstack_services():
    specs = yaml.safe_load((ROOT / "roles" / "aptstack" / "meta" / "argument_specs.yml").read_text())
    choices = specs["argument_specs"]["settings"]["options"]["aptstack_services"]["choices"]
    assert sorted(choices) == sorted(SERVICE_TOPOLOGY)


def test_optional_services_prefetch_with_the_rest():
    assert "aptstack_service_topology" in SITE[2]["vars"]["site_host_roles"]


def test_every_playbook_loads_the_shared_settings_before_a_host_play():
    """The roles depend on the aptstack role for its defaults only; its tasks (the settings' check,
    the secrets) run in the settings play, which each playbook must import before its host plays.
    teardown.yml runs only the teardown role, which needs neither (and must not make secrets)."""
    for path in sorted((ROOT / "playbooks").glob("*.yml")):
        if path.name in ("check_inputs.yml", "settings.yml", "teardown.yml"):
            continue
        plays = yaml.safe_load(path.read_text())
        imports = [play.get("ansible.builtin.import_playbook") for play in plays]
        if all(imports):
            continue  # only imports of playbooks that load the settings themselves (upgrade.yml)
        first_host_play = next(i for i, play in enumerate(plays) if play.get("hosts", "localhost") != "localhost")
        assert "aptstack.openstack.settings" in imports[:first_host_play], path.name
