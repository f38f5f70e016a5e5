#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""The versions report: which version of each package under test a host runs, and from where."""

from __future__ import annotations

DOCUMENTATION = r"""
module: package_versions
short_description: Report the installed OpenStack, OVN/OVS, libvirt and QEMU packages and their origin
description:
  - Lists every installed binary package whose source package matches O(source_patterns), or whose
    maintainer or original maintainer matches O(maintainer_pattern) (the OpenStack team's packages),
    with its source package, its version and the origin apt has that version from.
  - An origin is C(release), a pocket of the release (C(updates), C(security), C(proposed),
    C(backports), C(proposed-updates)), C(ppa:owner/name), C(cloud-archive:<suite>) or
    C(local overlay). The most specific one wins when several carry the same version.
  - For each pocket named in O(pockets) it says in plain words when nothing installed comes from it.
  - Reads apt's cache with python3-apt; changes nothing.
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
options:
  release:
    description: The distribution release (codename) of the host, for example C(resolute).
    type: str
    required: true
  pockets:
    description:
      - The pocket entries of C(aptstack_package_sources) (C(pocket), and C(packages) for
        per-source-package entries), for the plain-words notes.
    type: list
    elements: dict
    default: []
  source_patterns:
    description: Regular expressions; a package whose source package name matches one is reported.
    type: list
    elements: str
    default: ['^openvswitch$', '^ovn$', '^libvirt$', '^qemu$']
  maintainer_pattern:
    description:
      - A package whose Maintainer or Original-Maintainer field matches this (case-insensitive) is reported.
      - Empty reports none by maintainer.
    type: str
    default: openstack
requirements:
  - python3-apt on the host
attributes:
  check_mode:
    support: full
    description: It only reads; check mode reports the same.
  diff_mode:
    support: none
    description: Nothing to show a diff of.
"""

EXAMPLES = r"""
- name: Report the versions of the packages under test
  aptstack.openstack.package_versions:
    release: resolute
    pockets:
      - pocket: proposed
        packages: [nova]
  register: versions
"""

RETURN = r"""
packages:
  description: The reported packages, sorted by source and binary name.
  returned: always
  type: list
  elements: dict
  contains:
    package:
      description: Binary package name.
      type: str
    architecture:
      description: Its architecture.
      type: str
    source:
      description: Source package name.
      type: str
    version:
      description: Installed version.
      type: str
    origin:
      description: Where apt has that version from (the most specific origin that has it).
      type: str
    archives:
      description: Every origin that carries the installed version.
      type: list
      elements: str
under_test:
  description: The reported packages whose origin is not the release, -updates or -security.
  returned: always
  type: list
  elements: dict
notes:
  description: Plain-words notes, for example that a named -proposed source has nothing newer.
  returned: always
  type: list
  elements: str
table:
  description: The packages as a text table (package, source, version, origin).
  returned: always
  type: str
upgrades:
  description:
    - Every installed package (reported or not) whose candidate version differs from the
      installed one and comes from a source under test (not the release, -updates or -security),
      what an upgrade to the packages under test installs.
  returned: always
  type: list
  elements: dict
  contains:
    package:
      description: Binary package name (with :architecture for a foreign one).
      type: str
    installed:
      description: Installed version.
      type: str
    candidate:
      description: The version apt would install.
      type: str
    origin:
      description: Where the candidate comes from.
      type: str
"""

import re

from ansible.module_utils.basic import AnsibleModule

try:
    import apt_pkg
except ImportError:
    apt_pkg = None

OVERLAY_ORIGIN = "aptstack-overlay"
CLOUD_ARCHIVE_LABEL = "Ubuntu Cloud Archive"
# Origins that are not under test: what a deploy from the release itself gets.
BASE_ORIGINS = ("release", "updates", "security")
# The origin named when several carry the same version, first first. The overlay is pinned to win
# whatever the archive has; otherwise a version the release's own pockets carry is a released one,
# even when a pocket under test still holds a copy of it.
RANK = (
    "local overlay",
    "security",
    "updates",
    "release",
    "ppa:",
    "cloud-archive:",
    "proposed",
    "proposed-updates",
    "backports",
)
NOT_IN_ANY_SOURCE = "installed only (no configured source has this version)"


def classify(package_file, release):
    """The origin name of one apt package file (an index of one archive suite)."""
    if package_file.archive == "now":
        return None
    if package_file.origin == OVERLAY_ORIGIN:
        return "local overlay"
    if package_file.origin.startswith("LP-PPA-"):
        return "ppa:" + _ppa_name(package_file)
    if package_file.label == CLOUD_ARCHIVE_LABEL:
        return "cloud-archive:" + (package_file.archive or package_file.codename)
    # Ubuntu names a pocket in the suite (archive: noble-updates; codename: noble), Debian in the
    # codename (codename: trixie-updates; archive: stable-updates).
    for suite in (package_file.archive, package_file.codename):
        if suite and suite.startswith(release + "-"):
            return suite[len(release) + 1 :]
    if release in (package_file.archive, package_file.codename):
        return "release"
    return f"{package_file.origin or package_file.site} {package_file.archive or package_file.codename}".strip()


def _ppa_name(package_file):
    # The index file name carries the URI: ..._<owner>_<name>_ubuntu_dists_<suite>_...
    match = re.search(r"_([^_]+)_([^_]+)_ubuntu_dists_", package_file.filename or "")
    return f"{match.group(1)}/{match.group(2)}" if match else package_file.origin[len("LP-PPA-") :]


def rank(origin):
    for index, prefix in enumerate(RANK):
        if origin == prefix or (prefix.endswith(":") and origin.startswith(prefix)):
            return index
    return len(RANK)


def primary(origins):
    return min(origins, key=rank) if origins else NOT_IN_ANY_SOURCE


def _field(record, name):
    match = re.search(rf"^{re.escape(name)}:\s*(.*)$", record, re.MULTILINE)
    return match.group(1).strip() if match else ""


def open_cache():
    apt_pkg.init_config()
    apt_pkg.init_system()
    cache = apt_pkg.Cache(progress=None)
    return cache, apt_pkg.DepCache(cache)


def upgrades(cache, depcache, release):
    """Installed packages whose candidate is another version, from a source under test."""
    found = []
    for pkg in cache.packages:
        installed = pkg.current_ver
        candidate = depcache.get_candidate_ver(pkg) if installed is not None else None
        if candidate is None or candidate.id == installed.id:
            continue
        origin = primary(sorted({o for o in (classify(f, release) for f, _i in candidate.file_list) if o}, key=rank))
        if origin in BASE_ORIGINS:
            continue
        name = pkg.name if candidate.arch in ("all", apt_pkg.config.find("APT::Architecture")) else pkg.get_fullname()
        found.append(
            {"package": name, "installed": installed.ver_str, "candidate": candidate.ver_str, "origin": origin}
        )
    return sorted(found, key=lambda item: item["package"])


def collect(cache, release, source_patterns, maintainer_pattern):
    records = apt_pkg.PackageRecords(cache)
    sources = [re.compile(p) for p in source_patterns]
    maintainer = re.compile(maintainer_pattern, re.IGNORECASE) if maintainer_pattern else None
    reported = []
    for pkg in cache.packages:
        version = pkg.current_ver
        if version is None:
            continue
        records.lookup(version.file_list[0])
        record = records.record
        source = records.source_pkg or pkg.name
        maintainers = _field(record, "Maintainer") + " " + _field(record, "Original-Maintainer")
        if not (any(p.search(source) for p in sources) or (maintainer and maintainer.search(maintainers))):
            continue
        origins = sorted({o for o in (classify(f, release) for f, _i in version.file_list) if o}, key=rank)
        reported.append(
            {
                "package": pkg.name,
                "architecture": version.arch,
                "source": source,
                "version": version.ver_str,
                "origin": primary(origins),
                "archives": origins,
            }
        )
    reported.sort(key=lambda item: (item["source"], item["package"], item["architecture"]))
    return reported


def pocket_notes(reported, pockets, release):
    """Plain words for each pocket under test that nothing installed comes from."""
    notes = []
    for entry in pockets:
        pocket = entry.get("pocket")
        if not pocket:
            continue
        suite = f"{release}-{pocket}"
        from_pocket = [item for item in reported if item["origin"] == pocket]
        names = entry.get("packages") or []
        if not names and not from_pocket:
            notes.append(f"nothing installed comes from {suite}: it has no newer version of any reported package")
        for name in names:
            built = [item for item in reported if item["source"] == name]
            if not built:
                notes.append(f"source package {name} is not installed on this host; {suite} was not tested for it")
            elif not any(item["origin"] == pocket for item in built):
                held = sorted({f"{item['version']} from {item['origin']}" for item in built})
                notes.append(
                    f"{suite} has nothing newer of source package {name}: its binaries stay at {', '.join(held)}"
                )
    return notes


def table(reported):
    rows = [("package", "source", "version", "origin")] + [
        (item["package"], item["source"], item["version"], item["origin"]) for item in reported
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(value.ljust(widths[i]) for i, value in enumerate(row[:3])) + "  " + row[3] for row in rows
    )


def main():
    module = AnsibleModule(
        argument_spec={
            "release": {"type": "str", "required": True},
            "pockets": {"type": "list", "elements": "dict", "default": []},
            "source_patterns": {
                "type": "list",
                "elements": "str",
                "default": ["^openvswitch$", "^ovn$", "^libvirt$", "^qemu$"],
            },
            "maintainer_pattern": {"type": "str", "default": "openstack"},
        },
        supports_check_mode=True,
    )
    if apt_pkg is None:
        module.fail_json(msg="python3-apt is needed on the host to read apt's cache (apt-get install python3-apt)")
    release = module.params["release"]
    cache, depcache = open_cache()
    reported = collect(cache, release, module.params["source_patterns"], module.params["maintainer_pattern"])
    module.exit_json(
        changed=False,
        packages=reported,
        under_test=[item for item in reported if item["origin"] not in BASE_ORIGINS],
        notes=pocket_notes(reported, module.params["pockets"], release),
        table=table(reported),
        upgrades=upgrades(cache, depcache, release),
    )


if __name__ == "__main__":
    main()
