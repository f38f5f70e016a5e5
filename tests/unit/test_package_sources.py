"""Package sources under test: the checks and the apt files (plugins/plugin_utils/package_sources.py)."""

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from .source_files import load_source

ps = load_source("plugins/plugin_utils/package_sources.py")

ARCHIVE = "http://archive.example.invalid/ubuntu"
URIS = {
    "archive": ARCHIVE,
    "components": ["main", "universe"],
    "keyring": "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
    "ppa": "https://ppa.example.invalid",
    "cloud_archive": "http://cloud-archive.example.invalid/ubuntu",
}
KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF...\n-----END PGP PUBLIC KEY BLOCK-----\n"


def build_deb(directory: Path, package: str, version: str, arch: str = "all", source: str = "") -> Path:
    root = directory / f".build-{package}-{version}-{arch}"
    (root / "DEBIAN").mkdir(parents=True)
    control = f"Package: {package}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: t <t@example.invalid>\n"
    control += f"Source: {source}\n" if source else ""
    control += "Description: test package\n"
    (root / "DEBIAN" / "control").write_text(control)
    out = directory / f"{package}_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def overlay(tmp_path):
    debs = tmp_path / "debs"
    debs.mkdir()
    build_deb(debs, "python3-nova", "3:33.0.0-0ubuntu1+local1", source="nova")
    build_deb(debs, "nova-common", "3:33.0.0-0ubuntu1+local1", source="nova")
    return debs


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "ppa.asc"
    path.write_text(KEY)
    return path


def error_of(sources):
    with pytest.raises(ps.PackageSourceError) as info:
        ps.check(sources)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ([{"pocket": "updates"}], "unknown pocket 'updates'"),
        ([{"ppa": "Owner/Name", "key": "/k"}], "not of the form owner/name"),
        ([{"ppa": "owner"}], "not of the form owner/name"),
        ([{"ppa": "owner/name"}], "needs key"),
        ([{"ppa": "owner/name", "key": "/nonexistent.asc"}], "does not exist"),
        ([{"cloud_archive": "Epoxy"}], "not an OpenStack release name"),
        ([{"debs": "/nonexistent/debs"}], "overlay directory /nonexistent/debs does not exist"),
        ([{"pocket": "proposed", "ppa": "a/b"}], "exactly one of"),
        ([{}], "exactly one of"),
        (["proposed"], "not a mapping"),
        ([{"pocket": "proposed", "packges": ["nova"]}], "unknown key(s) packges"),
        ([{"pocket": "proposed", "packages": []}], "non-empty list"),
        ([{"pocket": "proposed", "packages": ["Nova!"]}], "not a source package name"),
        ([{"pocket": "proposed"}, {"pocket": "proposed", "packages": ["nova"]}], "given twice"),
        ([{"cloud_archive": "epoxy"}, {"cloud_archive": "flamingo"}], "given twice"),
        ({"pocket": "proposed"}, "must be a list"),
    ],
)
def test_bad_entries_are_refused_in_one_line(sources, expected):
    assert expected in error_of(sources)


def test_empty_overlay_and_a_wrong_key_file_are_refused(tmp_path):
    assert "holds no .deb" in error_of([{"debs": str(tmp_path)}])
    key = tmp_path / "key.gpg"
    key.write_bytes(b"\x99\x01binary")
    assert "not an armored OpenPGP public key" in error_of([{"ppa": "owner/name", "key": str(key)}])


def test_a_broken_deb_is_named(tmp_path):
    (tmp_path / "broken_1_all.deb").write_bytes(b"not an ar archive")
    assert "broken_1_all.deb is not a readable .deb" in error_of([{"debs": str(tmp_path)}])


def test_two_versions_of_one_package_in_the_overlay_are_refused(tmp_path):
    build_deb(tmp_path, "nova-common", "1")
    build_deb(tmp_path, "nova-common", "2")
    assert "holds package nova-common all twice" in error_of([{"debs": str(tmp_path)}])


def test_whole_pocket_lifts_the_pocket_to_the_release_priority():
    [entry] = ps.host_files(ps.check([{"pocket": "proposed"}]), "Ubuntu", "noble", URIS)
    files = {f["path"]: f["content"] for f in entry["files"]}
    assert files["/etc/apt/sources.list.d/aptstack-proposed.sources"] == (
        f"Types: deb\nURIs: {ARCHIVE}\nSuites: noble-proposed\nComponents: main universe\n"
        "Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg\n"
    )
    pref = files["/etc/apt/preferences.d/aptstack-proposed.pref"]
    assert "Package: *\nPin: release a=noble-proposed\nPin-Priority: 500\n" in pref
    assert entry["uri"] == ARCHIVE


def test_named_sources_come_from_the_pocket_and_the_rest_stays_on_the_release():
    checked = ps.check([{"pocket": "proposed", "packages": ["nova", "neutron", "nova"]}])
    [entry] = ps.host_files(checked, "Ubuntu", "resolute", URIS)
    pref = {f["path"]: f["content"] for f in entry["files"]}["/etc/apt/preferences.d/aptstack-proposed.pref"]
    stanzas = [dict(line.split(": ", 1) for line in block.splitlines()) for block in pref.split("\n\n")]
    assert [(s["Package"], s["Pin"], s["Pin-Priority"]) for s in stanzas] == [
        ("*", "release a=resolute-proposed", "100"),
        ("src:neutron", "release a=resolute-proposed", "500"),
        ("src:nova", "release a=resolute-proposed", "500"),
    ]


def test_debian_backports_and_proposed_updates():
    checked = ps.check([{"pocket": "backports"}, {"pocket": "proposed-updates", "packages": ["nova"]}])
    entries = ps.host_files(checked, "Debian", "trixie", {**URIS, "components": ["main"]})
    suites = [next(f["content"] for f in e["files"] if f["path"].endswith(".sources")) for e in entries]
    assert "Suites: trixie-backports\n" in suites[0]
    assert "Suites: trixie-proposed-updates\n" in suites[1]
    # Debian's suites move (stable-backports); the codename names the pocket.
    prefs = [next(f["content"] for f in e["files"] if f["path"].endswith(".pref")) for e in entries]
    assert "Pin: release n=trixie-backports\nPin-Priority: 500\n" in prefs[0]
    assert "Package: src:nova\nPin: release n=trixie-proposed-updates\n" in prefs[1]


def test_ppa_is_a_deb822_source_signed_by_its_own_key(key_file):
    [entry] = ps.host_files(ps.check([{"ppa": "openstack-ubuntu-testing/flamingo", "key": str(key_file)}]),
                            "Ubuntu", "resolute", URIS)  # fmt: skip
    [source] = entry["files"]
    assert source["path"] == "/etc/apt/sources.list.d/aptstack-ppa-openstack-ubuntu-testing-flamingo.sources"
    assert source["content"] == (
        "Types: deb\nURIs: https://ppa.example.invalid/openstack-ubuntu-testing/flamingo/ubuntu\n"
        "Suites: resolute\nComponents: main\n"
        "Signed-By: /etc/apt/keyrings/aptstack-ppa-openstack-ubuntu-testing-flamingo.asc\n"
    )
    assert entry["keyring_file"] == "/etc/apt/keyrings/aptstack-ppa-openstack-ubuntu-testing-flamingo.asc"
    assert entry["origin"] == "LP-PPA-openstack-ubuntu-testing-flamingo"


def test_cloud_archive_with_proposed_uses_the_cloud_keyring_package():
    [entry] = ps.host_files(ps.check([{"cloud_archive": "epoxy-proposed"}]), "Ubuntu", "noble", URIS)
    [source] = entry["files"]
    assert source["content"] == (
        "Types: deb\nURIs: http://cloud-archive.example.invalid/ubuntu\n"
        "Suites: noble-updates/epoxy noble-proposed/epoxy\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/ubuntu-cloud-keyring.gpg\n"
    )
    assert entry["keyring_package"] == "ubuntu-cloud-keyring"


def test_overlay_index_release_and_pin(overlay):
    [checked] = ps.check([{"debs": str(overlay)}])
    assert [(p["package"], p["source"]) for p in checked["packages"]] == [
        ("nova-common", "nova"),
        ("python3-nova", "nova"),
    ]
    [entry] = ps.host_files([checked], "Ubuntu", "resolute", {**URIS, "overlay_dir": "/srv/overlay"}, ["amd64"])
    files = {f["path"]: f["content"] for f in entry["files"]}
    assert files["/etc/apt/sources.list.d/aptstack-overlay.sources"] == (
        "Types: deb\nURIs: file:/srv/overlay\nSuites: ./\nTrusted: yes\n"
    )
    assert (
        "Pin: release o=aptstack-overlay\nPin-Priority: 1001\n" in files["/etc/apt/preferences.d/aptstack-overlay.pref"]
    )
    index = files["/srv/overlay/Packages"]
    assert "Package: python3-nova\n" in index
    assert "Filename: ./python3-nova_3:33.0.0-0ubuntu1+local1_all.deb\n" in index
    release = files["/srv/overlay/Release"]
    assert release.startswith("Origin: aptstack-overlay\n")
    assert f" {hashlib.sha256(index.encode()).hexdigest()} {len(index.encode())} Packages" in release


def test_overlay_built_for_another_architecture_is_refused(tmp_path):
    build_deb(tmp_path, "nova-common", "1", arch="arm64")
    checked = ps.check([{"debs": str(tmp_path)}])
    expected = "nova-common_1_arm64.deb is built for arm64; this host installs all, amd64 packages"
    with pytest.raises(ps.PackageSourceError, match=re.escape(expected)):
        ps.host_files(checked, "Ubuntu", "resolute", URIS, ["amd64"])


@pytest.mark.parametrize(
    ("sources", "distribution", "expected"),
    [
        (
            [{"pocket": "proposed"}],
            "Debian",
            "pocket proposed does not exist on Debian; it has backports, proposed-updates",
        ),
        ([{"pocket": "backports"}], "Ubuntu", "pocket backports does not exist on Ubuntu"),
        ([{"cloud_archive": "epoxy"}], "Debian", "cloud-archive:epoxy is for Ubuntu hosts"),
        ([{"pocket": "proposed"}], "Fedora", "for Ubuntu and Debian hosts"),
    ],
)
def test_entries_the_distribution_does_not_offer_are_refused(sources, distribution, expected):
    with pytest.raises(ps.PackageSourceError, match=expected):
        ps.host_files(ps.check(sources), distribution, "trixie", URIS)


def test_a_missing_archive_uri_names_the_variable_to_set(key_file):
    with pytest.raises(ps.PackageSourceError, match="set aptstack_ppa_uri"):
        ps.host_files(ps.check([{"ppa": "a/b", "key": str(key_file)}]), "Ubuntu", "noble", {**URIS, "ppa": ""})
    with pytest.raises(ps.PackageSourceError, match="set aptstack_cloud_archive_uri"):
        ps.host_files(ps.check([{"cloud_archive": "epoxy"}]), "Ubuntu", "noble", {})
