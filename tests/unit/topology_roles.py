"""The roles playbooks/vars/topology.yml names: one reading for every unit test that needs them."""

import yaml

from .source_files import ROOT

TOPOLOGY_FILE = yaml.safe_load((ROOT / "playbooks" / "vars" / "topology.yml").read_text())
# group -> roles of the core set, which always deploys
TOPOLOGY = TOPOLOGY_FILE["aptstack_topology"]
# service -> group -> roles that service adds
SERVICE_TOPOLOGY = TOPOLOGY_FILE["aptstack_service_topology"]
OPTIONAL_ROLES = sorted({role for groups in SERVICE_TOPOLOGY.values() for roles in groups.values() for role in roles})
ROLES = sorted({role for roles in TOPOLOGY.values() for role in roles} | set(OPTIONAL_ROLES))
