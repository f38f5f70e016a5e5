"""A local overlay wins over the archive: a rebuild with a bumped version, and one with the
archive's own version (make overlay-check; two aio labs, about 15 minutes)."""

import pytest

from .conftest import RELEASE, aptstack, archive_debs, installed, release_lab, repack, run_on, versions

LAB = "ovl"


@pytest.fixture(scope="module")
def release_report():
    """The nova packages of the release, from a lab host that has them installed."""
    with release_lab(LAB) as reports:
        yield reports


@pytest.mark.parametrize(("suffix", "expected_suffix"), [("+local1", "+local1"), ("", "")])
def test_overlay_packages_win_and_the_cloud_works(release_report, tmp_path, suffix, expected_suffix):
    host, report = next(iter(release_report.items()))
    nova = archive_debs(report, "nova")
    # With a bumped version every binary of the source is rebuilt (they depend on each other
    # exactly); with the archive's version one package is enough to show that the overlay wins.
    debs = nova if suffix else [deb for deb in nova if deb.name.startswith("python3-nova_")]
    overlay = repack(tmp_path / "debs", debs, "--marker", f"overlay {suffix or 'same version'}",
                     *(["--suffix", suffix] if suffix else []))  # fmt: skip
    name = f"{LAB}{'b' if suffix else 's'}"
    aptstack("lab", "down", "--name", name)
    try:
        aptstack("up", "--name", name, "--release", RELEASE, "--debs", str(overlay))
        after = versions(name)[host.replace(LAB, name, 1)]
        python3_nova = installed(after, "python3-nova")
        assert python3_nova["origin"] == "local overlay"
        assert python3_nova["version"] == installed(report, "python3-nova")["version"] + expected_suffix
        others = [item for item in after["packages"] if item["source"] not in ("nova",)]
        assert others and all(item["origin"] in ("release", "updates", "security") for item in others)
        # The installed files are the overlay's, also when its version equals the archive's.
        marker = run_on(name, "cat /usr/share/aptstack-overlay/python3-nova")
        assert f"overlay {suffix or 'same version'}" in marker
    finally:
        aptstack("lab", "down", "--name", name)
