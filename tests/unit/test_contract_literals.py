"""Ports and the messaging user that one role owns are written once, in the shared settings.

The aptstack role's defaults hold the contract values (where each server listens, the
RabbitMQ user) and compose the derived ones (transport URL, keystone URL, memcached
servers, OVN connections, service credentials). Every other role reads them from there,
so a literal copy anywhere else would leave a client behind when the value changes.
"""

import re

import pytest
import yaml

from .source_files import ROOT

OWNER = ROOT / "roles" / "aptstack" / "defaults" / "main.yml"
PORTS = {
    "aptstack_keystone_port": 5000,
    "aptstack_glance_port": 9292,
    "aptstack_placement_port": 8778,
    "aptstack_nova_api_port": 8774,
    "aptstack_nova_metadata_port": 8775,
    "aptstack_neutron_port": 9696,
    "aptstack_memcached_port": 11211,
    "aptstack_rabbitmq_port": 5672,
    "aptstack_ovn_nb_port": 6641,
    "aptstack_ovn_sb_port": 6642,
    "aptstack_heat_port": 8004,
    "aptstack_heat_cfn_port": 8000,
    "aptstack_cinder_port": 8776,
}
# MariaDB's port is nobody's setting (clients use the default), so it must appear nowhere.
LITERALS = [re.compile(rf"(?<![\d.]){port}(?!\d)") for port in [*PORTS.values(), 3306]] + [
    re.compile(r"rabbit://(?!\{\{)"),  # a transport URL with a literal user
    re.compile(r"\buser(?:name)?:\s*['\"]?openstack['\"]?\s*$"),  # the messaging user
]


def code_files():
    """Files that configure or run something: role defaults, vars, tasks, handlers, templates, specs; playbooks."""
    for path in sorted(ROOT.glob("roles/*/**/*")):
        if path.is_file() and path.suffix in {".yml", ".j2", ".py", ".sh"} and path != OWNER:
            yield path
    yield from sorted(ROOT.glob("playbooks/**/*.yml"))


def code_lines(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.lstrip().startswith("#"):
            yield number, line


def test_the_owner_defines_each_contract_value():
    defaults = yaml.safe_load(OWNER.read_text())
    assert {name: defaults.get(name) for name in PORTS} == PORTS
    assert defaults["aptstack_rabbitmq_user"] == "openstack"
    assert defaults["aptstack_rabbitmq_vhost"] == "openstack"
    assert "{{ aptstack_rabbitmq_vhost |" in defaults["aptstack_transport_url"]
    assert defaults["aptstack_transport_url"].endswith("?amqp_durable_queues=true")
    for name in ("aptstack_transport_url", "aptstack_keystone_url", "aptstack_ovn_sb_connection"):
        assert re.search(r"_port \}\}", defaults[name]), name


def test_the_owner_defines_the_dashboard_url():
    # Port 80 is too common a number to search for (the test guest's own web server has it too);
    # the dashboard's port and URL are still written once, here, and composed from each other.
    defaults = yaml.safe_load(OWNER.read_text())
    assert defaults["aptstack_horizon_port"] == 80
    assert re.search(r"aptstack_horizon_port \}\}/horizon/", defaults["aptstack_horizon_url"])


def test_files_are_scanned():
    files = list(code_files())
    assert len(files) > 150
    assert ROOT / "roles/neutron/defaults/main.yml" in files and OWNER not in files


@pytest.mark.parametrize("path", list(code_files()), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_contract_literal_outside_its_owner(path):
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in code_lines(path)
        if any(pattern.search(line) for pattern in LITERALS)
    ]
    assert found == [], "use the aptstack_* contract values instead"
