"""site.yml runs exactly the roles playbooks/vars/topology.yml declares, on those groups.

The topology is the list the host-basics play installs packages from; a role added to a
play but not to the topology (or the other way round) would install late or not at all.
"""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
TOPOLOGY = yaml.safe_load((ROOT / "playbooks" / "vars" / "topology.yml").read_text())["aptstack_topology"]
PREFIX = "aptstack.openstack."


def _short(name):
    return name.removeprefix(PREFIX)


def roles_per_group_in_site():
    """Roles of each group in play order: roles: entries and whole-role imports (not tasks_from entry points)."""
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
    # Only the input check, which contacts no host, comes before them.
    assert SITE[0]["ansible.builtin.import_playbook"] == "aptstack.openstack.check_inputs"
    first = SITE[1]
    assert first["hosts"] == "controller:compute"
    assert [entry["role"] for entry in first["roles"]] == [PREFIX + "common"]
    assert "vars/topology.yml" in first["vars_files"]
    assert "aptstack_topology" in first["roles"][0]["common_prefetch_roles"]


def test_roles_share_only_the_settings_role():
    """Host basics are a play, not a dependency: every role depends on aptstack alone."""
    for meta in sorted(ROOT.glob("roles/*/meta/main.yml")):
        role = meta.parent.parent.name
        dependencies = yaml.safe_load(meta.read_text()).get("dependencies") or []
        names = [_short(dep["role"] if isinstance(dep, dict) else dep) for dep in dependencies]
        assert names in ([], ["aptstack"]), (role, names)
