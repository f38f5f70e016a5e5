# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""The role_packages lookup: the packages this collection's roles install on a distribution."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_packages
short_description: The packages roles of this collection install, for one distribution
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - For each role name, finds the role's per-distribution vars file (the first of O(candidates)
    that exists in the role's C(vars/) directory) and returns the C(<role>_packages) list it sets.
  - The lists are joined in the order of the roles, each package once.
  - A role without a matching vars file, or whose file sets no package list, adds nothing.
  - Lets the host-basics play install every role's packages in one apt transaction without
    reading other roles' files by path.
options:
  _terms:
    description: Role names of this collection (lists are flattened).
    required: true
    type: list
    elements: str
  candidates:
    description:
      - Vars file names, most specific first, as in C(aptstack_distribution_vars_files)
        (for example C(ubuntu-26.04.yml), C(ubuntu.yml), C(debian.yml)).
    type: list
    elements: str
    required: true
  roles_path:
    description: Directory holding the roles; default the roles of this collection.
    type: path
"""

EXAMPLES = r"""
- name: Packages of the roles this host runs
  ansible.builtin.set_fact:
    packages: >-
      {{ query('aptstack.openstack.role_packages', ['mysql', 'keystone'],
               candidates=aptstack_distribution_vars_files) }}
"""

RETURN = r"""
_raw:
  description: Package names, each once, in role order.
  type: list
  elements: str
"""

from pathlib import Path

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

ROLES = Path(__file__).resolve().parents[2] / "roles"


def _flatten(terms):
    for term in terms:
        if isinstance(term, (list, tuple)):
            yield from _flatten(term)
        else:
            yield str(term)


def role_packages(roles, candidates, roles_path=ROLES):
    """Packages of each role, from its first candidate vars file, each once in role order."""
    packages = []
    for role in roles:
        vars_dir = Path(roles_path) / role / "vars"
        found = next((vars_dir / name for name in candidates if (vars_dir / name).is_file()), None)
        if found is None:
            continue
        data = yaml.safe_load(found.read_text()) or {}
        listed = data.get(f"{role}_packages") or []
        if not isinstance(listed, list):
            raise AnsibleLookupError(f"{found}: {role}_packages is not a list")
        packages += [package for package in listed if package not in packages]
    return packages


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        roles_path = self.get_option("roles_path") or ROLES
        return role_packages(list(_flatten(terms)), self.get_option("candidates"), roles_path)
