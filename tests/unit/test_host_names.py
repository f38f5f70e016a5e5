"""The host_names filter names hosts by their nodename fact, else by their inventory name."""

from .source_files import load_source

host_names = load_source("plugins/filter/host_names.py").host_names


def test_a_host_with_facts_is_named_by_its_nodename():
    hostvars = {
        "compute1": {"ansible_facts": {"nodename": "node-a"}},
        "compute2": {"ansible_facts": {"nodename": "node-b"}},
    }
    assert host_names(["compute2", "compute1"], hostvars) == ["node-b", "node-a"]


def test_a_host_without_facts_keeps_its_inventory_name():
    hostvars = {"compute1": {}, "compute2": {"ansible_facts": {}}}
    assert host_names(["compute1", "compute2", "compute3"], hostvars) == ["compute1", "compute2", "compute3"]
