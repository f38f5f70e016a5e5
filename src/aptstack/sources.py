"""Package sources under test on the command line, and the versions report they lead to.

The options are shorthand for the collection's `aptstack_package_sources`; the entries are
checked by the collection's own code (plugins/plugin_utils/package_sources.py), so that bad
input gets the same one line before any host is contacted, whichever way aptstack is run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from . import runner
from .errors import UsageError

PLUGIN = "plugins/plugin_utils/package_sources.py"


def add_arguments(cmd) -> None:
    group = cmd.add_argument_group("packages under test (shorthand for aptstack_package_sources)")
    group.add_argument(
        "--proposed",
        nargs="?",
        const="",
        metavar="SRC,...",
        help="take the -proposed pocket (Ubuntu), whole or only for these source packages",
    )
    group.add_argument("--ppa", metavar="OWNER/NAME", help="add a PPA (needs --ppa-key and aptstack_ppa_uri)")
    group.add_argument("--ppa-key", metavar="FILE", help="the PPA's armored signing key")
    group.add_argument(
        "--cloud-archive",
        metavar="NAME",
        help="add the Ubuntu Cloud Archive for an OpenStack release, e.g. epoxy or epoxy-proposed "
        "(needs aptstack_cloud_archive_uri)",
    )
    group.add_argument(
        "--debs", metavar="DIR", help="a local overlay: install these .deb files in preference to the archive's"
    )


def entries(args) -> list[dict]:
    """The aptstack_package_sources entries the options ask for, in a fixed order."""
    found = []
    if args.proposed is not None:
        names = [name.strip() for name in args.proposed.split(",") if name.strip()]
        found.append({"pocket": "proposed", **({"packages": names} if names else {})})
    if args.ppa or args.ppa_key:
        if not args.ppa:
            raise UsageError("--ppa-key needs --ppa OWNER/NAME")
        found.append({"ppa": args.ppa, **({"key": str(Path(args.ppa_key).resolve())} if args.ppa_key else {})})
    if args.cloud_archive:
        found.append({"cloud_archive": args.cloud_archive})
    if args.debs:
        found.append({"debs": str(Path(args.debs).resolve())})
    return found


def extra_vars(args) -> list[str]:
    """`-e` arguments for ansible-playbook, after the collection's own check of the entries."""
    found = entries(args)
    if not found:
        return []
    plugin = _load_plugin()
    try:
        plugin.check(found)
    except plugin.PackageSourceError as exc:
        raise UsageError(str(exc)) from None
    return [json.dumps({"aptstack_package_sources": found})]


def _load_plugin():
    spec = importlib.util.spec_from_file_location("aptstack_collection_package_sources", runner.collection_file(PLUGIN))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- versions report


def versions_dir(inventory: str) -> Path:
    """Where the versions role saves <host>.json: beside the inventory."""
    return Path(inventory).resolve().parent / "versions"


def read_reports(inventory: str, since: float = 0.0) -> dict[str, dict]:
    """The hosts' versions reports saved beside the inventory (those written since `since`)."""
    reports = {}
    directory = versions_dir(inventory)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        if path.stat().st_mtime < since:
            continue
        try:
            reports[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    return reports


def format_reports(reports: dict[str, dict]) -> str:
    """Each host's table (package, source, version, origin) and its notes."""
    lines = []
    for host, report in reports.items():
        rows = [("package", "source", "version", "origin")]
        rows += [(p["package"], p["source"], p["version"], p["origin"]) for p in report.get("packages", [])]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines.append(f"== {host} ({report.get('release', '?')})")
        lines += ["  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3] for row in rows]
        lines += [f"note: {note}" for note in report.get("notes", [])]
    return "\n".join(lines)


def under_test_lines(reports: dict[str, dict]) -> list[str]:
    """What came from a source under test, per host, and the plain-words notes."""
    lines = []
    for host, report in reports.items():
        tested = report.get("under_test", [])
        if tested:
            by_origin: dict[str, list[str]] = {}
            for item in tested:
                by_origin.setdefault(item["origin"], []).append(f"{item['package']} {item['version']}")
            for origin, packages in by_origin.items():
                lines.append(f"{host}: from {origin}: {', '.join(packages)}")
        elif report.get("package_sources"):
            lines.append(f"{host}: no reported package came from a source under test")
        lines += [f"{host}: {note}" for note in report.get("notes", [])]
    return lines
