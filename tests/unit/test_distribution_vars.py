"""Every role with per-distribution vars finds a file on each supported release.

The candidates are aptstack_distribution_vars_files, resolved as first_found resolves
them for the facts of each release: a role whose Ubuntu and Debian settings are the
same keeps one debian.yml (the os_family file), and a missing fallback fails here
rather than in a preflight on a host.
"""

import pytest
import yaml
from jinja2 import Environment

from .source_files import ROOT

DEFAULTS = yaml.safe_load((ROOT / "roles/aptstack/defaults/main.yml").read_text())
RELEASES = {
    "resolute": {"distribution": "Ubuntu", "distribution_version": "26.04", "os_family": "Debian"},
    "noble": {"distribution": "Ubuntu", "distribution_version": "24.04", "os_family": "Debian"},
    "trixie": {"distribution": "Debian", "distribution_version": "13", "os_family": "Debian"},
}
ROLES_WITH_VARS = sorted(
    path.parent.parent.name
    for path in ROOT.glob("roles/*/tasks/*.yml")
    if "aptstack_distribution_vars_files" in path.read_text() and "role_path ~ '/vars'" in path.read_text()
)


def candidates(facts):
    env = Environment()
    return [env.from_string(name).render(ansible_facts=facts) for name in DEFAULTS["aptstack_distribution_vars_files"]]


def test_candidates_end_with_the_os_family():
    assert candidates(RELEASES["noble"]) == ["ubuntu-24.04.yml", "ubuntu.yml", "debian.yml"]


def test_roles_that_load_distribution_vars_are_found():
    assert len(ROLES_WITH_VARS) >= 13


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("role", ROLES_WITH_VARS)
def test_a_vars_file_is_found(role, release):
    names = candidates(RELEASES[release])
    found = [name for name in names if (ROOT / "roles" / role / "vars" / name).is_file()]
    assert found, f"{role}: none of {names} in roles/{role}/vars"


def test_no_distribution_file_repeats_the_os_family_file():
    for family_file in ROOT.glob("roles/*/vars/debian.yml"):
        ubuntu = family_file.with_name("ubuntu.yml")
        if ubuntu.is_file():
            assert ubuntu.read_bytes() != family_file.read_bytes(), f"{ubuntu} repeats {family_file}"
