"""The role_packages lookup resolves each role's packages from its per-distribution vars."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .source_files import ROOT, load_source

rp = load_source("plugins/lookup/role_packages.py")
NOBLE = ["ubuntu-24.04.yml", "ubuntu.yml", "debian.yml"]
RESOLUTE = ["ubuntu-26.04.yml", "ubuntu.yml", "debian.yml"]
TRIXIE = ["debian-13.yml", "debian.yml", "debian.yml"]


@pytest.fixture
def roles(tmp_path):
    def vars_file(role, name, text):
        path = tmp_path / role / "vars" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    vars_file("db", "debian.yml", "db_packages: [mariadb-server, python3-pymysql]\n")
    vars_file("api", "ubuntu.yml", "api_packages: [api-server, python3-pymysql]\napi_unit: api\n")
    vars_file("api", "ubuntu-24.04.yml", "api_packages: [api-server-old]\n")
    vars_file("api", "debian.yml", "api_packages: [api]\n")
    vars_file("tool", "debian.yml", "tool_setting: 1\n")
    return tmp_path


def test_most_specific_file_wins_and_packages_are_listed_once(roles):
    assert rp.role_packages(["db", "api"], RESOLUTE, roles) == ["mariadb-server", "python3-pymysql", "api-server"]
    assert rp.role_packages(["db", "api"], NOBLE, roles) == ["mariadb-server", "python3-pymysql", "api-server-old"]
    assert rp.role_packages(["api", "db"], TRIXIE, roles) == ["api", "mariadb-server", "python3-pymysql"]


def test_roles_without_vars_or_packages_add_nothing(roles):
    assert rp.role_packages(["tool", "missing"], RESOLUTE, roles) == []


def test_lookup_as_ansible_runs_it(roles):
    """Through ansible itself: option handling and flattening of the terms."""
    query = f"query('aptstack.openstack.role_packages', ['db'], 'api', candidates={NOBLE}, roles_path='{roles}')"
    ansible = str(Path(sys.executable).with_name("ansible"))
    done = subprocess.run(
        [ansible, "localhost", "-m", "ansible.builtin.debug", "-a", f"msg={{{{ {query} }}}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.split("=>", 1)[1])
    assert result["msg"] == ["mariadb-server", "python3-pymysql", "api-server-old"]


@pytest.mark.parametrize("candidates", [RESOLUTE, NOBLE, TRIXIE])
def test_collection_roles_resolve_on_every_release(candidates):
    packages = rp.role_packages(["mysql", "keystone", "nova_compute", "ovn_chassis"], candidates)
    assert packages[:2] == ["mariadb-server", "python3-pymysql"]
    assert "keystone" in packages and "nova-compute" in packages and "ovn-host" in packages
    assert len(packages) == len(set(packages))
