"""The README's "Real hosts with plain ansible-playbook" path, on lab hosts treated as real ones.

The collection is installed from the tarball of `ansible-galaxy collection build`, the inventory
holds nothing but `ansible_host` per host (plus how to log in), each ansible-playbook run starts
with an empty fact cache, and neither the driver nor the repository's ansible.cfg is involved.
This is what operators do, and what the lab's own inventory (which sets the management and tunnel
addresses) hides.

It deploys and verifies a whole cloud with plain Ansible, no mitogen: 19 min 20 s on the project's
machine beside other deploys (site about 15.5 min, verify 1.5), so it runs only when
APTSTACK_REAL_HOST_TEST=1. APTSTACK_REAL_HOST_LAB, _SUBNET and _TUNNEL_SUBNET choose the lab.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import aptstack

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
LAB = os.environ.get("APTSTACK_REAL_HOST_LAB", "st-real")

pytestmark = pytest.mark.skipif(
    os.environ.get("APTSTACK_REAL_HOST_TEST") != "1",
    reason="deploys a whole cloud (about 20 minutes); set APTSTACK_REAL_HOST_TEST=1",
)


def run(argv, cwd, env=None, timeout=3600):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    command = " ".join(map(str, argv))
    assert proc.returncode == 0, f"{command} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def lab():
    args = ["lab", "up", "--name", LAB, "--topology", "aio", "--json"]
    for option, variable in (("--subnet", "SUBNET"), ("--tunnel-subnet", "TUNNEL_SUBNET")):
        if os.environ.get(f"APTSTACK_REAL_HOST_{variable}"):
            args += [option, os.environ[f"APTSTACK_REAL_HOST_{variable}"]]
    aptstack("lab", "down", "--name", LAB)
    lab = json.loads(aptstack(*args).stdout)
    try:
        yield lab
    finally:
        aptstack("lab", "down", "--name", LAB)


def plain_inventory(lab_inventory: dict) -> dict:
    """The lab's inventory reduced to what an operator writes: ansible_host per host, and login."""
    lab_vars = lab_inventory["all"]["vars"]
    login = {k: lab_vars[k] for k in ("ansible_user", "ansible_ssh_private_key_file", "ansible_ssh_common_args")}
    groups = {
        group: {"hosts": {name: {"ansible_host": host["ansible_host"]} for name, host in members["hosts"].items()}}
        for group, members in lab_inventory["all"]["children"].items()
    }
    return {"all": {"vars": login, "children": groups}}


def test_site_then_verify_with_plain_ansible_playbook(lab, tmp_path):
    lab_inventory = yaml.safe_load(Path(lab["inventory"]).read_text())
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(plain_inventory(lab_inventory)))
    written = yaml.safe_load(inventory.read_text())["all"]["children"]
    assert all(set(host) == {"ansible_host"} for group in written.values() for host in group["hosts"].values())

    build = tmp_path / "build"
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", build, REPO], cwd=tmp_path)
    (tarball,) = build.glob("aptstack-openstack-*.tar.gz")
    collections = tmp_path / "collections"
    run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", collections, tarball], cwd=tmp_path)
    installed = collections / "ansible_collections" / "aptstack" / "openstack"
    assert (installed / "playbooks" / "site.yml").is_file() and not installed.is_symlink()

    # No ansible.cfg of the repository (cwd is the temporary directory), no driver, no mitogen.
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    base |= {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_HOST_KEY_CHECKING": "True"}
    for playbook in ("site", "verify"):
        cache = tmp_path / f"facts-{playbook}"
        env = base | {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache)}
        proc = run([BIN / "ansible-playbook", "-i", inventory, f"aptstack.openstack.{playbook}"], cwd=tmp_path, env=env)
        recap = proc.stdout[proc.stdout.rindex("PLAY RECAP") :]
        assert "failed=0" in recap and "unreachable=0" in recap, recap
