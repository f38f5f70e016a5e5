#!/usr/bin/env python3
"""Repack archive .debs into a local overlay, the way a maintainer's rebuild looks to aptstack.

    repack_debs.py OUT_DIR DEB... [--suffix +local1] [--marker TEXT] [--break PATH]

--suffix appends to every package's version and rewrites the exact (=) dependencies between the
given packages, so a whole source's binary set stays installable together (a bumped rebuild).
Without --suffix the version stays as it is (a rebuild that keeps the archive's version).
--marker adds /usr/share/aptstack-overlay/<package> holding TEXT, to tell the overlay's copy
from the archive's on a host. --break appends a syntax error to PATH (a file inside the package,
e.g. usr/lib/python3/dist-packages/nova/conductor/manager.py): a deliberately broken package.
Needs dpkg-deb. Used by the overlay and upgrade checks (make overlay-check, make upgrade-check).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def repack(deb: Path, out: Path, versions: dict[str, tuple[str, str]], suffix: str, marker: str, broken: str) -> Path:
    package = field(deb, "Package")
    _old, new = versions[package]
    with tempfile.TemporaryDirectory(prefix="repack-") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "--raw-extract", str(deb), str(root)], check=True)
        control = root / "DEBIAN" / "control"
        text = control.read_text()
        text = re.sub(r"(?m)^Version: .*$", f"Version: {new}", text)
        if suffix:
            # Exact dependencies on the other repacked binaries follow them to the new version.
            for other, (other_old, other_new) in versions.items():
                text = re.sub(rf"\b{re.escape(other)} \(= {re.escape(other_old)}\)", f"{other} (= {other_new})", text)
        control.write_text(text)
        if marker:
            marker_dir = root / "usr" / "share" / "aptstack-overlay"
            marker_dir.mkdir(parents=True, exist_ok=True)
            (marker_dir / package).write_text(marker + "\n")
        if broken:
            target = root / broken
            if target.is_file():
                with target.open("a") as handle:
                    handle.write("\ndef aptstack_broken_on_purpose(:\n")
        # The md5sums must match the files, or dpkg --verify (and debsums) would flag the package.
        sums = root / "DEBIAN" / "md5sums"
        if sums.exists():
            lines = subprocess.run(
                ["find", ".", "-path", "./DEBIAN", "-prune", "-o", "-type", "f", "-printf", "%P\\0"],
                cwd=root,
                capture_output=True,
                check=True,
            ).stdout.split(b"\0")
            files = sorted(name.decode() for name in lines if name)
            digest = subprocess.run(["md5sum", *files], cwd=root, capture_output=True, text=True, check=True).stdout
            sums.write_text(digest)
        target_name = f"{package}_{new.split(':')[-1]}_{field(deb, 'Architecture')}.deb"
        result = out / target_name
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(result)], check=True,
                       capture_output=True)  # fmt: skip
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("debs", nargs="+", type=Path)
    parser.add_argument("--suffix", default="", help="version suffix, e.g. +local1 (default: keep the version)")
    parser.add_argument("--marker", default="", help="text of a marker file in each package")
    parser.add_argument("--break", dest="broken", default="", help="a file in the package to add a syntax error to")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    versions = {}
    for deb in args.debs:
        old = field(deb, "Version")
        versions[field(deb, "Package")] = (old, old + args.suffix)
    for deb in args.debs:
        print(repack(deb, args.out, versions, args.suffix, args.marker, args.broken))
    return 0


if __name__ == "__main__":
    sys.exit(main())
