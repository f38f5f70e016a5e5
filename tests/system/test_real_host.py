"""The README's "Real hosts with plain ansible-playbook" path, on lab hosts treated as real ones,
then a search of everything the deploy, a failed deploy and verify printed or wrote for the
generated secrets.

The collection is installed from the tarball of `ansible-galaxy collection build`, the inventory
holds nothing but `ansible_host` per host (plus how to log in), each ansible-playbook run starts
with an empty fact cache, and neither the driver nor the repository's ansible.cfg is involved.
This is what operators do, and what the lab's own inventory (which sets the management and tunnel
addresses) hides.

It deploys and verifies a whole cloud with plain Ansible (no mitogen, with pipelining), the
longest part of `make test`. APTSTACK_REAL_HOST_LAB, _SUBNET and _TUNNEL_SUBNET choose the lab.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import aptstack

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
LAB = os.environ.get("APTSTACK_REAL_HOST_LAB", "st-real")


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


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("real-host")


@pytest.fixture(scope="module")
def outputs():
    """Every command's stdout and stderr, by label, for the secret-leak search."""
    return {}


def test_site_then_verify_with_plain_ansible_playbook(lab, workdir, outputs):
    lab_inventory = yaml.safe_load(Path(lab["inventory"]).read_text())
    inventory = workdir / "hosts.yml"
    inventory.write_text(yaml.safe_dump(plain_inventory(lab_inventory)))
    written = yaml.safe_load(inventory.read_text())["all"]["children"]
    assert all(set(host) == {"ansible_host"} for group in written.values() for host in group["hosts"].values())

    build = workdir / "build"
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", build, REPO], cwd=workdir)
    (tarball,) = build.glob("aptstack-openstack-*.tar.gz")
    collections = workdir / "collections"
    # No ansible.cfg of the repository (cwd is the temporary directory), no driver, no mitogen.
    # Only the fresh install is on the collections path: a copy in the user's default path
    # would otherwise make the install a no-op ("already installed") and the runs use it.
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    # Pipelining as the README advises: one SSH round trip per task instead of three.
    base |= {
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_PIPELINING": "True",
    }
    install = [BIN / "ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p", collections, tarball]
    run(install, cwd=workdir, env=base)
    installed = collections / "ansible_collections" / "aptstack" / "openstack"
    assert (installed / "playbooks" / "site.yml").is_file() and not installed.is_symlink()

    for playbook in ("site", "verify"):
        cache = workdir / f"facts-{playbook}"
        env = base | {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache)}
        proc = run([BIN / "ansible-playbook", "-i", inventory, f"aptstack.openstack.{playbook}"], cwd=workdir, env=env)
        outputs[f"ansible-playbook {playbook}"] = proc.stdout + proc.stderr
        recap = proc.stdout[proc.stdout.rindex("PLAY RECAP") :]
        assert "failed=0" in recap and "unreachable=0" in recap, recap


# Files that hold the secrets by design: the secrets file itself and the admin's clouds.yaml.
SECRET_HOLDERS = ("aptstack-secrets.yml", "clouds.yaml")


def secret_leaks(secrets: dict, texts: dict) -> list[str]:
    """Where a secret value appears: "NAME in LABEL" (never the value itself)."""
    return [f"{name} in {label}" for label, text in texts.items() for name, value in secrets.items() if value in text]


def written_files(workdir: Path) -> dict:
    """Everything the runs wrote beside the inventory (reports, JSON, JUnit, diagnostics, fact
    caches), without the collection's build and install and the files meant to hold secrets."""
    skip = {workdir / "build", workdir / "collections"}
    return {
        str(path.relative_to(workdir)): path.read_bytes().decode(errors="replace")
        for path in sorted(workdir.rglob("*"))
        if path.is_file() and path.name not in SECRET_HOLDERS and not any(p in skip for p in path.parents)
    }


def test_no_generated_secret_in_any_output(lab, workdir, outputs):
    secrets_file = workdir / "aptstack-secrets.yml"
    if not outputs or not secrets_file.is_file():
        pytest.fail("needs the deploy of test_site_then_verify_with_plain_ansible_playbook")
    secrets = {name: str(value) for name, value in yaml.safe_load(secrets_file.read_text()).items()}
    assert len(secrets) >= 10 and all(len(value) >= 16 for value in secrets.values())
    inventory = str(workdir / "hosts.yml")

    # The driver's runs: verify with its JSON and JUnit, the versions report, and a deploy that
    # fails (a unit it must start is stopped and masked), which writes a diagnostics report of
    # every config. (Masked alone is not enough: a running unit whose init script is enabled
    # looks enabled and started to Ansible.)
    checks = aptstack("verify", "-i", inventory, "--json", "--junit", str(workdir / "verify-junit.xml"))
    outputs["aptstack verify"] = checks.stdout + checks.stderr
    assert json.loads(checks.stdout)["result"] == "passed"
    versions = aptstack("versions", "-i", inventory, "--json")
    outputs["aptstack versions"] = versions.stdout + versions.stderr
    controller = next(iter(yaml.safe_load(Path(inventory).read_text())["all"]["children"]["controller"]["hosts"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    mask = [BIN / "ansible", "-i", inventory, controller, "-m", "ansible.builtin.systemd_service"]
    run([*mask, "-a", "name=nova-conductor masked=true state=stopped"], cwd=workdir, env=env)
    try:
        failed = aptstack("deploy", "-i", inventory, check=False)
    finally:
        run([*mask, "-a", "name=nova-conductor masked=false state=started"], cwd=workdir, env=env)
    outputs["aptstack deploy (failing)"] = failed.stdout + failed.stderr
    assert failed.returncode != 0, failed.stdout[-3000:]
    reports = list((workdir / "diagnostics").glob("*/report.txt"))
    assert reports, f"the failed deploy wrote no diagnostics report:\n{failed.stderr[-3000:]}"
    report_text = reports[-1].read_text()
    assert "config /etc/nova/nova.conf" in report_text
    # The report holds the versions report's table: nova-conductor at the version installed.
    installed = {item["package"]: item["version"] for item in json.loads(versions.stdout)[controller]["packages"]}
    conductor = rf"^nova-conductor +nova +{re.escape(installed['nova-conductor'])} +\S"
    assert re.search(conductor, report_text, re.MULTILINE), report_text[-3000:]

    texts = outputs | written_files(workdir)
    # The search finds a secret where one is: the admin's clouds.yaml holds its password.
    clouds = {"clouds.yaml": (workdir / "clouds.yaml").read_text()}
    assert secret_leaks(secrets, clouds) == ["admin_password in clouds.yaml"]
    assert secret_leaks(secrets, texts) == [], f"searched {len(texts)} outputs and files"
