"""Origin naming of the versions report (plugins/modules/package_versions.py), without apt."""

from types import SimpleNamespace

import pytest

from .source_files import load_source

pv = load_source("plugins/modules/package_versions.py")


def index(archive="", codename="", origin="Ubuntu", label="Ubuntu", site="archive", filename=""):
    return SimpleNamespace(archive=archive, codename=codename, origin=origin, label=label, site=site, filename=filename)


@pytest.mark.parametrize(
    ("package_file", "release", "expected"),
    [
        # Ubuntu names the pocket in the suite; every pocket's codename is the release.
        (index("noble-updates", "noble"), "noble", "updates"),
        (index("noble-proposed", "noble"), "noble", "proposed"),
        (index("noble", "noble"), "noble", "release"),
        # Debian names it in the codename; the suite moves (stable, stable-updates, ...).
        (index("stable-updates", "trixie-updates", origin="Debian"), "trixie", "updates"),
        (index("stable-security", "trixie-security", origin="Debian"), "trixie", "security"),
        (index("stable", "trixie", origin="Debian"), "trixie", "release"),
        (index("proposed-updates", "trixie-proposed-updates", origin="Debian"), "trixie", "proposed-updates"),
        (index("overlay", "overlay", origin="aptstack-overlay", site=""), "noble", "local overlay"),
        (
            index(
                "noble",
                "noble",
                origin="LP-PPA-owner-name",
                filename="/var/lib/apt/lists/h_owner_name_ubuntu_dists_noble_x",
            ),
            "noble",
            "ppa:owner/name",
        ),
        (
            index("noble-updates", "noble", origin="Canonical", label="Ubuntu Cloud Archive"),
            "noble",
            "cloud-archive:noble-updates",
        ),
        (index("now", ""), "noble", None),
    ],
)
def test_origin_of_an_index(package_file, release, expected):
    assert pv.classify(package_file, release) == expected


def test_a_released_version_is_credited_to_the_release_even_when_a_pocket_under_test_has_it():
    assert pv.primary(["proposed", "updates"]) == "updates"
    assert pv.primary(["security", "updates"]) == "security"
    assert pv.primary(["release", "ppa:o/n"]) == "release"
    # The overlay is pinned to win, also at the archive's own version.
    assert pv.primary(["updates", "local overlay"]) == "local overlay"
    assert pv.primary([]) == pv.NOT_IN_ANY_SOURCE


def test_plain_words_for_a_named_source_with_nothing_newer():
    reported = [
        {"package": "nova-common", "source": "nova", "version": "1", "origin": "updates"},
        {"package": "neutron-common", "source": "neutron", "version": "2", "origin": "proposed"},
    ]
    notes = pv.pocket_notes(reported, [{"pocket": "proposed", "packages": ["nova", "neutron", "heat"]}], "resolute")
    assert notes == [
        "resolute-proposed has nothing newer of source package nova: its binaries stay at 1 from updates",
        "source package heat is not installed on this host; resolute-proposed was not tested for it",
    ]
    assert pv.pocket_notes(reported[:1], [{"pocket": "proposed"}], "resolute") == [
        "nothing installed comes from resolute-proposed: it has no newer version of any reported package"
    ]
