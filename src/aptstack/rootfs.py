"""Root filesystems for lab hosts: built once per release with debootstrap, then copied."""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import host
from .errors import AptstackError
from .releases import BASE_PACKAGES, Release

# The newest Debian release ships current keyrings for both Debian and Ubuntu
# archives; the host's own Debian keyring verifies that download.
KEYRING_SOURCE_SUITE = "trixie"
HOST_DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# Written into every cached rootfs: keep packages in the shared archive cache,
# and never ask questions during an unattended install.
APT_CONF = """\
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Install-Recommends "false";
Acquire::Retries "3";
"""


@contextmanager
def locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def keyring_path(release: Release) -> Path:
    return host.cache_dir() / "keyrings" / Path(release.keyring_file).name


def ensure_keyring(release: Release, log=print) -> Path:
    """Fetch the release's archive keyring package (signature-checked by apt) and extract it."""
    target = keyring_path(release)
    if target.exists():
        return target
    with locked(target.parent / ".lock"):
        if target.exists():
            return target
        log(f"fetching {release.keyring_package} from Debian {KEYRING_SOURCE_SUITE}")
        with tempfile.TemporaryDirectory(prefix="aptstack-keyring-") as tmp:
            work = Path(tmp)
            for sub in ("lists/partial", "cache/archives/partial", "parts", "prefs"):
                (work / sub).mkdir(parents=True)
            (work / "sources.list").write_text(
                f"deb [signed-by={HOST_DEBIAN_KEYRING}] {host.debian_mirror()} {KEYRING_SOURCE_SUITE} main\n"
            )
            apt_opts = [
                f"-oDir::Etc::SourceList={work}/sources.list",
                f"-oDir::Etc::SourceParts={work}/parts",
                f"-oDir::Etc::PreferencesParts={work}/prefs",
                f"-oDir::State::Lists={work}/lists",
                f"-oDir::Cache={work}/cache",
                "-oAPT::Sandbox::User=root",
                "-q",
            ]
            host.run(["apt-get", *apt_opts, "update"], timeout=300)
            host.run(
                ["apt-get", *apt_opts, "download", release.keyring_package],
                timeout=300,
                cwd=work,
            )
            debs = sorted(work.glob(f"{release.keyring_package}_*.deb"))
            if not debs:
                raise AptstackError(f"apt-get download {release.keyring_package} produced no file")
            extracted = work / "extract"
            host.run(["dpkg-deb", "-x", debs[-1], extracted])
            source = extracted / release.keyring_file
            if not source.exists():
                raise AptstackError(f"{release.keyring_package} has no {release.keyring_file}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target.with_suffix(".tmp"))
            target.with_suffix(".tmp").rename(target)
    return target


def cached_rootfs(release: Release) -> Path:
    return host.cache_dir() / "rootfs" / release.name


def ensure_rootfs(release: Release, log=print) -> Path:
    """Return the cached root filesystem for release, building it on first use."""
    target = cached_rootfs(release)
    if (target / ".aptstack-complete").exists():
        return target
    with locked(target.parent / f".{release.name}.lock"):
        if (target / ".aptstack-complete").exists():
            return target
        keyring = ensure_keyring(release, log)
        building = target.parent / f".{release.name}.building"
        if building.exists():
            shutil.rmtree(building)
        started = time.monotonic()
        log(f"building {release.name} root filesystem with debootstrap (cached afterwards)")
        packages = ",".join((*BASE_PACKAGES, *release.extra_packages))
        # An empty mirror argument: debootstrap's script supplies its distribution's default.
        host.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={packages}",
                f"--keyring={keyring}",
                f"--cache-dir={apt_archive_cache(release)}",
                release.name,
                building,
                "",
                release.script,
            ],
            timeout=1800,
        )
        _prepare_cached_rootfs(building)
        (building / ".aptstack-complete").write_text(f"{time.time()}\n")
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
        log(f"built {release.name} root filesystem in {time.monotonic() - started:.0f}s")
    return target


def apt_archive_cache(release: Release) -> Path:
    path = host.cache_dir() / "apt" / release.name
    (path / "partial").mkdir(parents=True, exist_ok=True)
    return path


def _prepare_cached_rootfs(root: Path) -> None:
    (root / "etc/apt/apt.conf.d/90aptstack").write_text(APT_CONF)
    systemd_etc = root / "etc/systemd/system"
    # Containers cannot load kernel modules; without this mask the host reports "degraded".
    mask = systemd_etc / "systemd-modules-load.service"
    mask.unlink(missing_ok=True)
    mask.symlink_to("/dev/null")
    host.run(["chroot", root, "systemctl", "enable", "systemd-networkd"])
    # Host keys and machine id are made per host, never shared between hosts.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    # Downloaded archives live in the shared cache, not in every copy.
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
