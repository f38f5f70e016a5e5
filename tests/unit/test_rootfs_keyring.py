"""Which archive keyring debootstrap gets: the machine's own when installed, a fetched one otherwise."""

from pathlib import Path

import pytest

from aptstack import host, rootfs
from aptstack.errors import AptstackError, UsageError
from aptstack.releases import RELEASES

UBUNTU, DEBIAN = RELEASES["resolute"], RELEASES["trixie"]


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine root and a cache with no keyrings, and no command may run."""
    root = tmp_path / "root"
    monkeypatch.setattr(rootfs, "SYSTEM_ROOT", root)
    monkeypatch.setenv("APTSTACK_CACHE_DIR", str(tmp_path / "cache"))

    def no_command(argv, **_kwargs):
        raise AssertionError(f"ran {argv}")

    monkeypatch.setattr(host, "run", no_command)
    return root


def install(path: Path, text="key") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("release", [UBUNTU, DEBIAN], ids=lambda r: r.name)
def test_the_machines_own_keyring_wins_and_nothing_is_fetched(machine, release):
    own = install(machine / release.keyring_file)
    install(rootfs.keyring_path(release), "fetched earlier")
    assert rootfs.select_keyring(release) == own
    assert rootfs.ensure_keyring(release, log=lambda _m: None) == own
    assert own == machine / "usr/share/keyrings" / Path(release.keyring_file).name


def test_a_keyring_fetched_earlier_is_used_when_the_machine_has_none(machine):
    fetched = install(rootfs.keyring_path(UBUNTU))
    install(machine / DEBIAN.keyring_file)
    assert rootfs.select_keyring(UBUNTU) == fetched
    assert rootfs.ensure_keyring(UBUNTU, log=lambda _m: None) == fetched


def test_an_empty_keyring_file_does_not_count(machine):
    install(machine / UBUNTU.keyring_file, "")
    assert rootfs.select_keyring(UBUNTU) is None


def test_missing_everywhere_means_fetch_and_without_a_debian_keyring_says_what_to_install(machine, monkeypatch):
    assert rootfs.select_keyring(UBUNTU) is None
    monkeypatch.setattr(rootfs, "HOST_DEBIAN_KEYRING", str(machine / "nothing.gpg"))
    with pytest.raises(UsageError, match=r"apt-get install ubuntu-keyring"):
        rootfs.ensure_keyring(UBUNTU, log=lambda _m: None)


def test_missing_keyring_without_a_debian_mirror_says_what_to_install(machine, monkeypatch):
    debian_keyring = install(machine / DEBIAN.keyring_file)
    monkeypatch.setattr(rootfs, "HOST_DEBIAN_KEYRING", str(debian_keyring))
    monkeypatch.setattr(host, "apt_source_uris", lambda: ["http://192.0.2.1/ubuntu"])
    with pytest.raises(UsageError, match=r"cannot find a Debian archive.*; or install ubuntu-keyring"):
        rootfs.ensure_keyring(UBUNTU, log=lambda _m: None)


def test_a_signature_failure_with_the_machines_keyring_refetches_once(machine):
    own = install(machine / UBUNTU.keyring_file)
    error = str(AptstackError("command failed (1): debootstrap ...: E: Release signed by unknown key (key id 123)"))
    assert rootfs.should_refetch(UBUNTU, own, error)
    # Not with a fetched keyring (it is already the newest), not for other failures.
    assert not rootfs.should_refetch(UBUNTU, rootfs.keyring_path(UBUNTU), error)
    assert not rootfs.should_refetch(UBUNTU, own, "E: Couldn't download packages: systemd")
