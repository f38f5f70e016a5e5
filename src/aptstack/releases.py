"""Distribution releases a lab host can run, and how to bootstrap each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    name: str
    family: str
    # debootstrap script; Debian 12's debootstrap has no script named after the
    # newest Ubuntu suites, but every Ubuntu suite bootstraps with gutsy's.
    script: str
    keyring_package: str
    keyring_file: str
    # Extra packages a bare minbase needs to be a usable lab host.
    extra_packages: tuple[str, ...] = ()


_UBUNTU = dict(
    family="ubuntu",
    script="/usr/share/debootstrap/scripts/gutsy",
    keyring_package="ubuntu-keyring",
    keyring_file="usr/share/keyrings/ubuntu-archive-keyring.gpg",
)
_DEBIAN = dict(
    family="debian",
    script="/usr/share/debootstrap/scripts/sid",
    keyring_package="debian-archive-keyring",
    keyring_file="usr/share/keyrings/debian-archive-keyring.gpg",
)

RELEASES: dict[str, Release] = {
    "resolute": Release(name="resolute", **_UBUNTU),
    "noble": Release(name="noble", **_UBUNTU),
    "trixie": Release(name="trixie", **_DEBIAN),
}

BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "iputils-ping",
    "python3",
    "python3-apt",
    "ca-certificates",
    "openssh-server",
)

DEFAULT_RELEASE = "resolute"


def get_release(name: str) -> Release:
    from .errors import UsageError

    try:
        return RELEASES[name]
    except KeyError:
        raise UsageError(f"unknown release {name!r}; choose one of: {', '.join(RELEASES)}") from None
