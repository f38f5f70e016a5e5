# Copyright: aptstack developers
# Apache License 2.0
"""Package sources under test (aptstack_package_sources), on the Ansible side.

One place for what the package_sources filters share: the check of the entries (one line
naming the first problem), the local overlay's index, and the apt sources and preferences each
entry writes on a host. Archive URIs always come from the caller (the host's own mirror, or a
variable): no host name is written here.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess


class PackageSourceError(ValueError):
    """Bad input in aptstack_package_sources: the message is one line that names the problem."""


KINDS = ("pocket", "ppa", "cloud_archive", "debs")
# Pockets an entry may name, per distribution: what each archive publishes beside the release.
POCKETS = {"Ubuntu": ("proposed",), "Debian": ("backports", "proposed-updates")}
# The Release field that names a pocket: Ubuntu's pockets share the codename ("noble") and differ
# in their suite (a=noble-proposed); Debian's suites move ("stable-backports") while the codename
# names the pocket (n=trixie-backports).
POCKET_PIN_FIELD = {"Ubuntu": "a", "Debian": "n"}
ALLOWED_KEYS = {
    "pocket": {"pocket", "packages"},
    "ppa": {"ppa", "key"},
    "cloud_archive": {"cloud_archive"},
    "debs": {"debs"},
}
PPA_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]*/[a-z0-9][a-z0-9+._-]*$")
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
CLOUD_ARCHIVE = re.compile(r"^([a-z]+)(-proposed)?$")
# Origin of the overlay's Release file: what its pin and the versions report match.
OVERLAY_ORIGIN = "aptstack-overlay"
OVERLAY_DIR = "/var/lib/aptstack/overlay"
CLOUD_ARCHIVE_KEYRING = "/usr/share/keyrings/ubuntu-cloud-keyring.gpg"
# Above 1000: the overlay wins even over an equal or higher archive version (apt downgrades to it).
OVERLAY_PRIORITY = 1001
# The release's own priority: the highest version wins among the release, its updates and this.
SELECTED_PRIORITY = 500
# Below the release: the rest of a pocket that is used per source package stays unused.
UNSELECTED_PRIORITY = 100
# Where a variable gives an archive URI that the host's sources cannot.
URI_VARIABLES = {
    "archive": "aptstack_archive_uri (no archive URI was found in the host's apt sources)",
    "ppa": "aptstack_ppa_uri (the base URI PPAs are served from; <owner>/<name>/ubuntu is appended)",
    "cloud_archive": "aptstack_cloud_archive_uri (the Ubuntu Cloud Archive's base URI)",
}


def _fail(message):
    raise PackageSourceError(f"aptstack_package_sources: {message}")


# --------------------------------------------------------------------------- checks (no host needed)


def check(sources):
    """The entries, validated and normalised; raise one line naming the first problem."""
    if sources is None:
        return []
    if not isinstance(sources, list):
        _fail(f"must be a list of entries, not a {type(sources).__name__}")
    checked = [CHECKS[_kind(index, entry)](entry) for index, entry in enumerate(sources)]
    _check_contradictions(checked)
    return checked


def _kind(index, entry):
    if not isinstance(entry, dict):
        _fail(f"entry {index + 1} is a {type(entry).__name__}, not a mapping")
    kinds = [kind for kind in KINDS if kind in entry]
    if len(kinds) != 1:
        found = f"; it has {', '.join(kinds)}" if kinds else ""
        _fail(f"entry {index + 1} ({_show(entry)}) must have exactly one of {', '.join(KINDS)}{found}")
    kind = kinds[0]
    unknown = sorted(set(entry) - ALLOWED_KEYS[kind])
    if unknown:
        _fail(f"entry {index + 1} ({kind}) has unknown key(s) {', '.join(unknown)}")
    return kind


def _show(entry):
    return ", ".join(f"{key}: {value}" for key, value in entry.items()) or "empty"


def _check_pocket(entry):
    pocket = entry["pocket"]
    known = sorted({p for pockets in POCKETS.values() for p in pockets})
    if pocket not in known:
        _fail(f"unknown pocket {pocket!r}; known pockets: {', '.join(known)}")
    packages = entry.get("packages")
    checked = {"kind": "pocket", "pocket": pocket, "packages": [], "name": pocket, "label": pocket}
    if packages is None:
        return checked
    if not isinstance(packages, list) or not packages or not all(isinstance(p, str) for p in packages):
        _fail(f"pocket {pocket}: packages must be a non-empty list of source package names")
    bad = [p for p in packages if not SOURCE_NAME.match(p)]
    if bad:
        _fail(f"pocket {pocket}: {bad[0]!r} is not a source package name")
    return {**checked, "packages": sorted(set(packages))}


def _check_ppa(entry):
    ppa = entry["ppa"]
    if not isinstance(ppa, str) or not PPA_NAME.match(ppa):
        _fail(f"PPA {ppa!r} is not of the form owner/name (lower case)")
    key = entry.get("key")
    if not key:
        _fail(f"PPA {ppa} needs key: the path of its armored signing key on the Ansible side")
    if not os.path.isfile(key):
        _fail(f"PPA {ppa}: key file {key} does not exist")
    with open(key, "rb") as handle:
        head = handle.read(4096)
    if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" not in head:
        _fail(f"PPA {ppa}: key file {key} is not an armored OpenPGP public key")
    owner, name = ppa.split("/")
    return {
        "kind": "ppa",
        "ppa": ppa,
        "key": os.path.abspath(key),
        "name": f"ppa-{owner}-{name}",
        "label": f"ppa:{ppa}",
        # Launchpad names a PPA's Release origin so; the versions report matches it.
        "origin": f"LP-PPA-{owner}-{name}",
    }


def _check_cloud_archive(entry):
    value = entry["cloud_archive"]
    match = CLOUD_ARCHIVE.match(value) if isinstance(value, str) else None
    if not match:
        _fail(f"cloud_archive {value!r} is not an OpenStack release name, optionally with -proposed (epoxy-proposed)")
    return {
        "kind": "cloud_archive",
        "os_release": match.group(1),
        "proposed": bool(match.group(2)),
        "name": "cloud-archive",
        "label": f"cloud-archive:{value}",
    }


def _check_debs(entry):
    directory = entry["debs"]
    if not isinstance(directory, str) or not os.path.isdir(directory):
        _fail(f"overlay directory {directory} does not exist")
    directory = os.path.abspath(directory)
    names = sorted(name for name in os.listdir(directory) if name.endswith(".deb"))
    if not names:
        _fail(f"overlay directory {directory} holds no .deb file")
    debs = [read_deb(os.path.join(directory, name)) for name in names]
    duplicate = _first_duplicate(deb["package"] + " " + deb["architecture"] for deb in debs)
    if duplicate:
        _fail(f"overlay directory {directory} holds package {duplicate} twice; keep one version")
    return {
        "kind": "debs",
        "debs": directory,
        "packages": [
            {key: deb[key] for key in ("file", "package", "version", "architecture", "source")} for deb in debs
        ],
        "architectures": sorted({deb["architecture"] for deb in debs}),
        "index": packages_index(debs),
        "name": "overlay",
        "label": "local overlay",
    }


def _first_duplicate(values):
    seen = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


# What the hosts and the versions report need of each overlay package.
OVERLAY_PACKAGE_KEYS = ("file", "package", "version", "architecture", "source")

CHECKS = {"pocket": _check_pocket, "ppa": _check_ppa, "cloud_archive": _check_cloud_archive, "debs": _check_debs}


def _check_contradictions(checked):
    seen = {}
    for entry in checked:
        # One entry per pocket, per PPA, one Cloud Archive and one overlay: a second one would
        # say something else about the same packages.
        key = (entry["kind"], entry.get("pocket") or entry.get("ppa") or "")
        if key in seen:
            _fail(f"{seen[key]['label']} is given twice and the entries contradict each other; keep one")
        seen[key] = entry


# --------------------------------------------------------------------------- the local overlay


def read_deb(path):
    """A .deb's control fields, file name, size and SHA-256 (dpkg-deb reads every compression)."""
    try:
        result = subprocess.run(["dpkg-deb", "--field", path], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        _fail("dpkg-deb is needed on the Ansible side to read the overlay's .deb files (install dpkg)")
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["dpkg-deb failed"])[0]
        _fail(f"{path} is not a readable .deb: {reason}")
    control = result.stdout.rstrip("\n")
    fields = {}
    for line in control.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    for required in ("Package", "Version", "Architecture"):
        if not fields.get(required):
            _fail(f"{path} has no {required} field")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "file": os.path.basename(path),
        "package": fields["Package"],
        "version": fields["Version"],
        "architecture": fields["Architecture"],
        "source": fields.get("Source", fields["Package"]).split()[0],
        "control": control,
        "size": os.path.getsize(path),
        "sha256": digest.hexdigest(),
    }


def packages_index(debs):
    """The overlay's Packages file: each control paragraph with its file name, size and hash."""
    return "\n".join(
        f"{deb['control']}\nFilename: ./{deb['file']}\nSize: {deb['size']}\nSHA256: {deb['sha256']}\n" for deb in debs
    )


def overlay_release(index):
    """The overlay's Release file. Its origin is what the pin and the versions report match, and
    apt wants the hash of the index it lists."""
    data = index.encode()
    return _deb822(
        [
            ("Origin", OVERLAY_ORIGIN),
            ("Label", OVERLAY_ORIGIN),
            ("Suite", "overlay"),
            ("Codename", "overlay"),
            ("SHA256", f"\n {hashlib.sha256(data).hexdigest()} {len(data)} Packages"),
        ]
    )


# --------------------------------------------------------------------------- files on a host


def _check_host(entry, distribution, release, architectures):
    if distribution not in POCKETS:
        _fail(f"package sources are for Ubuntu and Debian hosts, not {distribution}")
    if entry["kind"] == "pocket" and entry["pocket"] not in POCKETS[distribution]:
        _fail(f"pocket {entry['pocket']} does not exist on {distribution}; it has {', '.join(POCKETS[distribution])}")
    if entry["kind"] in ("ppa", "cloud_archive") and distribution != "Ubuntu":
        _fail(f"{entry['label']} is for Ubuntu hosts; this host runs {distribution} {release}")
    if entry["kind"] == "debs" and architectures:
        foreign = [deb for deb in entry["packages"] if deb["architecture"] not in ["all", *architectures]]
        if foreign:
            deb = foreign[0]
            _fail(
                f"{deb['file']} is built for {deb['architecture']}; "
                f"this host installs {', '.join(['all', *architectures])} packages"
            )


def _deb822(fields):
    return "".join(f"{key}: {value}\n" for key, value in fields if value not in (None, ""))


def _preference(package, pin, priority, why):
    return f"Explanation: {why}\nPackage: {package}\nPin: {pin}\nPin-Priority: {priority}\n"


def _uri(uris, key, what):
    value = uris.get(key) or ""
    if not value:
        _fail(f"{what} needs its archive URI: set {URI_VARIABLES[key]}")
    return value.rstrip("/")


def _render_pocket(entry, distribution, release, uris):
    suite = f"{release}-{entry['pocket']}"
    source = _deb822(
        [
            ("Types", "deb"),
            ("URIs", _uri(uris, "archive", f"pocket {entry['pocket']}")),
            ("Suites", suite),
            ("Components", " ".join(uris.get("components") or ["main"])),
            ("Signed-By", uris.get("keyring")),
        ]
    )
    pin = f"release {POCKET_PIN_FIELD[distribution]}={suite}"
    if entry["packages"]:
        prefs = [_preference("*", pin, UNSELECTED_PRIORITY, f"only the named source packages come from {suite}")]
        prefs += [
            _preference(f"src:{name}", pin, SELECTED_PRIORITY, f"source package {name} is under test from {suite}")
            for name in entry["packages"]
        ]
    else:
        # -proposed and -backports are NotAutomatic: lift the whole pocket to the release's
        # priority, so that its newer versions win.
        prefs = [_preference("*", pin, SELECTED_PRIORITY, f"the whole {suite} pocket is under test")]
    return [
        (f"/etc/apt/sources.list.d/aptstack-{entry['name']}.sources", source),
        (f"/etc/apt/preferences.d/aptstack-{entry['name']}.pref", "\n".join(prefs)),
    ], {"codename": suite, "uri": _uri(uris, "archive", f"pocket {entry['pocket']}")}


def _render_ppa(entry, _distribution, release, uris):
    owner, name = entry["ppa"].split("/")
    keyring = f"/etc/apt/keyrings/aptstack-{entry['name']}.asc"
    uri = f"{_uri(uris, 'ppa', 'PPA ' + entry['ppa'])}/{owner}/{name}/ubuntu"
    source = _deb822(
        [
            ("Types", "deb"),
            ("URIs", uri),
            ("Suites", release),
            ("Components", "main"),
            ("Signed-By", keyring),
        ]
    )
    return [(f"/etc/apt/sources.list.d/aptstack-{entry['name']}.sources", source)], {
        "keyring_file": keyring,
        "uri": uri,
    }


def _render_cloud_archive(entry, _distribution, release, uris):
    pockets = ["updates"] + (["proposed"] if entry["proposed"] else [])
    uri = _uri(uris, "cloud_archive", entry["label"])
    source = _deb822(
        [
            ("Types", "deb"),
            ("URIs", uri),
            ("Suites", " ".join(f"{release}-{pocket}/{entry['os_release']}" for pocket in pockets)),
            ("Components", "main"),
            ("Signed-By", CLOUD_ARCHIVE_KEYRING),
        ]
    )
    return [(f"/etc/apt/sources.list.d/aptstack-{entry['name']}.sources", source)], {
        "keyring_package": "ubuntu-cloud-keyring",
        "uri": uri,
    }


def _render_debs(entry, _distribution, release, uris):
    overlay_dir = uris.get("overlay_dir") or OVERLAY_DIR
    source = _deb822([("Types", "deb"), ("URIs", f"file:{overlay_dir}"), ("Suites", "./"), ("Trusted", "yes")])
    pref = _preference(
        "*",
        f"release o={OVERLAY_ORIGIN}",
        OVERLAY_PRIORITY,
        "the local overlay wins even over an equal or higher archive version",
    )
    return [
        (f"/etc/apt/sources.list.d/aptstack-{entry['name']}.sources", source),
        (f"/etc/apt/preferences.d/aptstack-{entry['name']}.pref", pref),
        (f"{overlay_dir}/Packages", entry["index"]),
        (f"{overlay_dir}/Release", overlay_release(entry["index"])),
    ], {"overlay_dir": overlay_dir}


RENDERERS = {
    "pocket": _render_pocket,
    "ppa": _render_ppa,
    "cloud_archive": _render_cloud_archive,
    "debs": _render_debs,
}


def host_files(checked, distribution, release, uris=None, architectures=()):
    """Each checked entry with the files it writes on a host of this distribution and release.

    `architectures` are the dpkg architectures the host installs (native first); an overlay
    .deb for another one is refused."""
    uris = uris or {}
    rendered = []
    for entry in checked:
        _check_host(entry, distribution, release, list(architectures))
        files, extra = RENDERERS[entry["kind"]](entry, distribution, release, uris)
        rendered.append({**entry, **extra, "files": [{"path": path, "content": text} for path, text in files]})
    return rendered
