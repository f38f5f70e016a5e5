"""Root filesystems for lab hosts: built once per release with debootstrap, then copied."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import host
from .errors import AptstackError, UsageError
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
    """Where a fetched keyring is cached."""
    return host.cache_dir() / "keyrings" / Path(release.keyring_file).name


# The machine's root; tests point it elsewhere.
SYSTEM_ROOT = Path("/")


def system_keyring(release: Release, root: Path | None = None) -> Path:
    """The keyring the machine's own package (ubuntu-keyring, debian-archive-keyring) installs."""
    return (root or SYSTEM_ROOT) / release.keyring_file


def select_keyring(release: Release, root: Path | None = None, cache: Path | None = None) -> Path | None:
    """The keyring debootstrap verifies the release with: the machine's own when its package is
    installed (both distributions package both keyrings), else one fetched earlier; None when it
    has to be fetched."""
    for candidate in (system_keyring(release, root), cache or keyring_path(release)):
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def ensure_keyring(release: Release, log=print, fetch=False) -> Path:
    """The machine's keyring for the release, else a fetched one (fetched first when missing, or
    when fetch is true: the machine's keyring may predate the release's signing key)."""
    selected = None if fetch else select_keyring(release)
    if selected is not None:
        return selected
    target = keyring_path(release)
    if target.exists() and not fetch:
        return target
    with locked(target.parent / ".lock"):
        if target.exists() and not fetch:
            return target
        install = f"install {release.keyring_package} (apt-get install {release.keyring_package})"
        if not Path(HOST_DEBIAN_KEYRING).is_file():
            raise UsageError(f"no {system_keyring(release)} on this machine, nor a keyring to fetch it with: {install}")
        try:
            mirror = host.debian_mirror()
        except UsageError as exc:
            raise UsageError(f"{exc}; or {install}") from None
        log(f"fetching {release.keyring_package} from Debian {KEYRING_SOURCE_SUITE}")
        with tempfile.TemporaryDirectory(prefix="aptstack-keyring-") as tmp:
            work = Path(tmp)
            for sub in ("lists/partial", "cache/archives/partial", "parts", "prefs"):
                (work / sub).mkdir(parents=True)
            (work / "sources.list").write_text(
                f"deb [signed-by={HOST_DEBIAN_KEYRING}] {mirror} {KEYRING_SOURCE_SUITE} main\n"
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
        started = time.monotonic()
        log(f"building {release.name} root filesystem with debootstrap (cached afterwards, keyring {keyring})")
        try:
            _debootstrap(release, building, keyring)
        except AptstackError as exc:
            # A machine's own keyring can be older than the release's signing key: fetch the
            # release's current keyring and try once more.
            if not should_refetch(release, keyring, str(exc)):
                raise
            log(f"{keyring} does not verify {release.name}: {exc}")
            _debootstrap(release, building, ensure_keyring(release, log, fetch=True))
        _prepare_cached_rootfs(building)
        (building / ".aptstack-complete").write_text(f"{time.time()}\n")
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
        log(f"built {release.name} root filesystem in {time.monotonic() - started:.0f}s")
    return target


# debootstrap's words for a Release file its keyring cannot verify.
SIGNATURE_ERRORS = ("signature", "Release signed by unknown key", "NO_PUBKEY", "EXPKEYSIG", "gpgv")


def should_refetch(release: Release, keyring: Path, error: str) -> bool:
    """Whether a failed debootstrap deserves a second try with a freshly fetched keyring: it used
    the machine's keyring, and failed verifying the archive's signature."""
    return keyring != keyring_path(release) and any(word in error for word in SIGNATURE_ERRORS)


def _debootstrap(release: Release, building: Path, keyring: Path) -> None:
    if building.exists():
        shutil.rmtree(building)
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


def apt_archive_cache(release: Release) -> Path:
    path = host.cache_dir() / "apt" / release.name
    (path / "partial").mkdir(parents=True, exist_ok=True)
    return path


# Where a lab host sees its release's archive cache (the pool). apt locks its archive
# directory for a whole install, so each host keeps its own directory inside the pool,
# filled with hard links: hosts install side by side and reuse each other's downloads.
POOL_MOUNT = "/var/cache/aptstack-pool"


def host_archive_dir(release: Release, hostname: str) -> Path:
    return apt_archive_cache(release) / "hosts" / hostname


def host_apt_conf(hostname: str) -> str:
    """apt settings of one lab host: its own archive directory, and new downloads linked into the pool."""
    own = f"{POOL_MOUNT}/hosts/{hostname}"
    share = f"find {own} -maxdepth 1 -name '*.deb' -links 1 -exec ln -t {POOL_MOUNT} {{}} + 2>/dev/null || true"
    return f'Dir::Cache::Archives "{own}/";\nDPkg::Post-Invoke {{ "{share}"; }};\n'


def _link_missing(debs, target: Path) -> None:
    for deb in debs:
        destination = target / deb.name
        if not destination.exists():
            # Another host may link the same archive at the same moment.
            with contextlib.suppress(FileExistsError):
                os.link(deb, destination)


def share_archives(release: Release, hostname: str) -> None:
    """Link a host's downloads into the pool, and every archive of the pool into the host's directory."""
    pool = apt_archive_cache(release)
    own = host_archive_dir(release, hostname)
    (own / "partial").mkdir(parents=True, exist_ok=True)
    _link_missing(own.glob("*.deb"), pool)
    _link_missing(pool.glob("*.deb"), own)


def release_archives(release: Release, hostname: str) -> None:
    """Keep what a host downloaded in the pool, then drop the host's directory."""
    own = host_archive_dir(release, hostname)
    if own.exists():
        _link_missing(own.glob("*.deb"), apt_archive_cache(release))
        shutil.rmtree(own)


# Mount units whose conditions never hold in a lab host (no /var/lib/machines.raw, no FUSE or
# configfs in the container's /sys), so they never mount anything. They still cost every boot
# about 1 s: at boot the early services' credential mounts change the mount table more than 5 times
# in a second, systemd then rate-limits its mount monitor for the rest of that second, and it holds
# back every mount job meanwhile; these three jobs kept local-fs.target and sysinit.target, and so
# every service, waiting (debug journal of a lab host: "mount-monitor-dispatch entered rate limit
# state", "sysinit.target: starting held back, waiting for: sys-fs-fuse-connections.mount").
NO_OP_MOUNTS = ("var-lib-machines.mount", "sys-fs-fuse-connections.mount", "sys-kernel-config.mount")


def mask_units(root: Path, units) -> None:
    """Mask systemd units in a root filesystem (a link to /dev/null in its /etc/systemd/system)."""
    systemd_etc = root / "etc/systemd/system"
    systemd_etc.mkdir(parents=True, exist_ok=True)
    for unit in units:
        mask = systemd_etc / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")


def _prepare_cached_rootfs(root: Path) -> None:
    (root / "etc/apt/apt.conf.d/90aptstack").write_text(APT_CONF)
    # Containers cannot load kernel modules; without this mask the host reports "degraded".
    mask_units(root, ["systemd-modules-load.service"])
    host.run(["chroot", root, "systemctl", "enable", "systemd-networkd"])
    # Host keys and machine id are made per host, never shared between hosts.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    # Downloaded archives live in the shared cache, not in every copy.
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
