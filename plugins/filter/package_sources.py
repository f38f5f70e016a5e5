# Copyright: aptstack developers
# Apache License 2.0
"""Filters for aptstack_package_sources: check the entries, and the apt files they write."""

from __future__ import annotations

DOCUMENTATION = r"""
name: package_sources
short_description: Check aptstack_package_sources, with one line that names the first problem
description:
  - Checks a list of package sources under test. Each entry is one of C({pocket, packages}),
    C({ppa, key}), C({cloud_archive}) or C({debs}).
  - An overlay directory is read on the Ansible side with C(dpkg-deb); the result carries its
    packages and its apt index.
  - Needs no host; the C(package_source_files) filter adds what depends on the host.
options:
  _input:
    description: The entries of C(aptstack_package_sources).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the package sources before any host changes
  ansible.builtin.set_fact:
    checked_sources: "{{ aptstack_package_sources | aptstack.openstack.package_sources }}"
  delegate_to: localhost
  run_once: true

- name: The files they write on this host
  ansible.builtin.set_fact:
    host_sources: >-
      {{ checked_sources | aptstack.openstack.package_source_files(ansible_facts['distribution'],
         aptstack_release, {'archive': archive_uri, 'components': ['main', 'universe']}, ['amd64']) }}
"""

RETURN = r"""
_value:
  description:
    - The entries, each with C(kind) (pocket, ppa, cloud_archive or debs), C(name) (the stem of
      its apt files) and C(label) (how reports name its origin).
    - C(package_source_files) adds C(files), a list of C(path) and C(content).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.aptstack.openstack.plugins.plugin_utils.package_sources import (
    PackageSourceError,
    check,
    host_files,
)


def package_sources(sources):
    try:
        return check(sources)
    except PackageSourceError as exc:
        raise AnsibleFilterError(str(exc)) from None


def package_source_files(checked, distribution, release, uris=None, architectures=()):
    try:
        return host_files(checked, distribution, release, uris, architectures)
    except PackageSourceError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"package_sources": package_sources, "package_source_files": package_source_files}
