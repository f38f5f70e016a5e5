"""`aptstack tempest`: the tempest playbook's argv from the command line, and its verdict.

The collection's tempest role does the work (install, tempest.conf, run, results); this only
chooses the results directory beside the inventory, passes the selection and prints the summary
the role saved. The exit status is the run's: 0 when every test passed, was skipped or failed as a
known failure; 1 otherwise (2 for wrong input, as for every command).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import runner
from .errors import UsageError

RESULTS = "tempest"
EXTRA_VARS_HELP = "a variable for the playbook: name=value, YAML/JSON, or @file (repeatable)"


def add_arguments(cmd) -> None:
    cmd.add_argument("-i", "--inventory", required=True, help="Ansible inventory: groups controller and compute")
    selection = cmd.add_mutually_exclusive_group()
    selection.add_argument("--smoke", action="store_true", help="run the smoke tests (the default)")
    selection.add_argument("--regex", metavar="R", help="run the tests whose id matches R")
    selection.add_argument("--load-list", metavar="FILE", type=Path, help="run the test ids listed in FILE")
    cmd.add_argument("--exclude-regex", metavar="R", help="leave out the tests whose id matches R")
    cmd.add_argument("--concurrency", type=int, default=1, help="Tempest workers (default 1)")
    cmd.add_argument("--baseline", metavar="SUMMARY", type=Path, help="an earlier run's summary.json to compare with")
    cmd.add_argument("--json", action="store_true", help="print the summary object (progress goes to stderr)")
    cmd.add_argument("-e", "--extra-vars", action="append", default=[], help=EXTRA_VARS_HELP)


def results_dir(inventory: str) -> Path:
    return Path(inventory).resolve().parent / RESULTS / time.strftime("%Y%m%d-%H%M%S")


def extra_vars(args, directory: Path) -> list[str]:
    """The role's variables for the selection, as JSON (a regex may hold spaces and quotes)."""
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    values: dict = {"tempest_results_dir": str(directory), "tempest_concurrency": args.concurrency}
    if args.load_list is not None:
        if not args.load_list.is_file():
            raise UsageError(f"load list {args.load_list} does not exist")
        values["tempest_load_list"] = str(args.load_list.resolve())
    elif args.regex:
        values["tempest_regex"] = args.regex
    values["tempest_smoke"] = args.load_list is None and not args.regex
    if args.exclude_regex:
        values["tempest_exclude_regex"] = args.exclude_regex
    if args.baseline is not None:
        if not args.baseline.is_file():
            raise UsageError(f"baseline {args.baseline} does not exist")
        values["tempest_baseline_file"] = str(args.baseline.resolve())
    return [*args.extra_vars, json.dumps(values)]


def run(args) -> int:
    directory = results_dir(args.inventory)
    extra = extra_vars(args, directory)
    runner.check_inputs(args.inventory, extra)
    status, summary = run_playbook(args.inventory, extra, directory, stdout=sys.stderr if args.json else None)
    if args.json:
        print(json.dumps(summary or {"verdict": "failed", "results_dir": str(directory)}, indent=2, sort_keys=True))
    elif summary:
        print((directory / "summary.txt").read_text(errors="replace").rstrip())
    return verdict_status(status, summary, directory)


def run_playbook(inventory: str, extra, directory: Path, stdout=None) -> tuple[int, dict]:
    argv = runner.playbook_argv("tempest", inventory, extra)
    status = runner.run_playbook(argv, stdout=stdout)
    return status, read_summary(directory)


def run_smoke(inventory: str, extra_vars=(), stdout=None) -> int:
    """Smoke after a deploy (`aptstack up --tempest smoke`): the summary's text, then the verdict."""
    directory = results_dir(inventory)
    extra = [*extra_vars, json.dumps({"tempest_results_dir": str(directory), "tempest_smoke": True})]
    status, summary = run_playbook(inventory, extra, directory, stdout=stdout)
    if summary:
        print((directory / "summary.txt").read_text(errors="replace").rstrip(), file=stdout or sys.stdout)
    return verdict_status(status, summary, directory)


def read_summary(directory: Path) -> dict:
    try:
        return json.loads((directory / "summary.json").read_text())
    except (OSError, ValueError):
        return {}


def verdict_status(status: int, summary: dict, directory: Path) -> int:
    """0 only when the playbook succeeded and its summary says passed."""
    if not summary:
        print(f"aptstack: the tempest playbook saved no summary in {directory} (exit {status})", file=sys.stderr)
        return status or 1
    if summary.get("verdict") != "passed":
        return 1
    return 1 if status else 0
