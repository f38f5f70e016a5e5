"""The aptstack command: lab hosts, deploy, verify, diagnose."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from . import __version__, junit, lab, local, report, runner, snapshot, sources, tempest, upgrade
from .errors import AptstackError, UsageError
from .releases import DEFAULT_RELEASE, RELEASES


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aptstack", description=__doc__)
    parser.add_argument("--version", action="version", version=f"aptstack {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lab_parser = sub.add_parser("lab", help="manage local lab hosts")
    lab_sub = lab_parser.add_subparsers(dest="lab_command", required=True, parser_class=_Parser)
    lab_up = lab_sub.add_parser("up", help="create and start a lab")
    _lab_up_args(lab_up, restorable=True)
    lab_up.add_argument("--json", action="store_true", help="print the lab as JSON")
    lab_down = lab_sub.add_parser("down", help="stop and remove a lab")
    lab_down.add_argument("--name", required=True, help="the lab to remove")
    lab_list = lab_sub.add_parser("list", help="list labs and their state")
    lab_list.add_argument("--json", action="store_true", help="print the labs as JSON")
    lab_snapshot = lab_sub.add_parser(
        "snapshot", help="halt a deployed lab cleanly and keep its hosts' disks and files as a snapshot"
    )
    lab_snapshot.add_argument("--name", required=True, help="the deployed lab")
    lab_snapshot.add_argument("--as", dest="snapshot", required=True, metavar="SNAP", help="the snapshot's name")
    lab_snapshot.add_argument("--json", action="store_true", help="print the snapshot's record as JSON")
    lab_snapshots = lab_sub.add_parser("snapshots", help="list the snapshots")
    lab_snapshots.add_argument("--json", action="store_true", help="print the snapshots as JSON")
    lab_snapshot_remove = lab_sub.add_parser("snapshot-remove", help="remove a snapshot no lab uses")
    lab_snapshot_remove.add_argument("--name", required=True, help="the snapshot to remove")
    lab_reports = lab_sub.add_parser("reports", help="print the summaries of a lab's failure reports")
    lab_reports.add_argument("--name", required=True, help="the lab whose reports to print")
    lab_reports.add_argument("--since", type=float, default=0.0, help="only reports written after this Unix time")

    for name, help_text in (("deploy", "deploy OpenStack"), ("verify", "boot a server and ping it")):
        cmd = sub.add_parser(name, help=help_text)
        _playbook_args(cmd)
        if name == "deploy":
            sources.add_arguments(cmd)
            _with_arg(cmd)
        if name == "verify":
            cmd.add_argument("--json", action="store_true", help="print the check's result object")
            cmd.add_argument("--keep", action="store_true", help="keep the test resources")
            _junit_arg(cmd)

    diagnose = sub.add_parser("diagnose", help="collect journals, configs and OVN/nova state of every host")
    _inventory_arg(diagnose, "Ansible inventory of the hosts")
    diagnose.add_argument("--failures", type=Path, help="a failure record to print first (APTSTACK_FAILURES_FILE)")

    upgrade_cmd = sub.add_parser(
        "upgrade", help="upgrade a running cloud to the packages under test and check that it survived"
    )
    upgrade_cmd.add_argument("-i", "--inventory", required=True, help="Ansible inventory of the hosts")
    upgrade_cmd.add_argument("-e", "--extra-vars", action="append", default=[], help=EXTRA_VARS_HELP)
    upgrade_cmd.add_argument("--json", action="store_true", help="print the upgrade report as JSON")
    sources.add_arguments(upgrade_cmd)

    versions = sub.add_parser("versions", help="each host's OpenStack, OVN/OVS, libvirt and QEMU packages and origins")
    _inventory_arg(versions, "Ansible inventory of the hosts")
    versions.add_argument("--json", action="store_true", help="print the reports as one JSON object, by host")

    teardown = sub.add_parser("teardown", help="stop and purge what aptstack installed, so the hosts can be reused")
    _playbook_args(teardown)
    teardown.add_argument(
        "--secrets", action="store_true", help="also remove the generated secrets and clouds.yaml beside the inventory"
    )

    tempest_cmd = sub.add_parser("tempest", help="run Tempest (upstream's tests) against the cloud, offline")
    tempest.add_arguments(tempest_cmd)

    up = sub.add_parser("up", help="lab up (aio), deploy and verify")
    _lab_up_args(up, name_default="aio")
    up.add_argument("-e", "--extra-vars", action="append", default=[], help=EXTRA_VARS_HELP)
    up.add_argument("--json", action="store_true", help="print the summary as a JSON object (progress goes to stderr)")
    _junit_arg(up)
    sources.add_arguments(up)
    up.add_argument("--tempest", choices=["smoke"], help="after verify, run Tempest's smoke tests (aptstack tempest)")
    _with_arg(up)
    up.add_argument(
        "--upgrade-to",
        action="store_true",
        help="deploy from the release, verify, then upgrade to the packages under test and check again",
    )
    return parser


EXTRA_VARS_HELP = "a variable for the playbooks: name=value, YAML/JSON, or @file (repeatable)"


def _junit_arg(cmd):
    cmd.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML, one test case per check")


def _with_arg(cmd):
    cmd.add_argument(
        "--with",
        dest="services",
        metavar="SERVICE[,...]",
        help="optional services to deploy besides the core set, e.g. heat,horizon (sets aptstack_services)",
    )


def services_vars(args) -> list[str]:
    """--with as the aptstack_services variable; the input check refuses a name no role offers."""
    if args.services is None:
        return []
    names = [name.strip() for name in args.services.split(",") if name.strip()]
    return [json.dumps({"aptstack_services": names})]


def _lab_up_args(cmd, name_default=None, restorable=False):
    cmd.add_argument("--name", required=name_default is None, default=name_default, help="the lab's name")
    # With --from, these come from the snapshot: no default, so that a conflicting one is refused.
    unset = restorable
    cmd.add_argument(
        "--topology", default=None if unset else "aio", choices=list(lab.TOPOLOGIES), help="hosts and their groups"
    )
    cmd.add_argument("--computes", type=int, default=None if unset else 1, help="compute hosts (controller-compute)")
    cmd.add_argument(
        "--release", default=None if unset else DEFAULT_RELEASE, choices=list(RELEASES), help="the hosts' distribution"
    )
    cmd.add_argument("--subnet", help="management network (default: a free /24 in 10.213.0.0/16)")
    cmd.add_argument("--tunnel-subnet", help="tunnel network (default: a free /24)")
    if restorable:
        cmd.add_argument(
            "--from",
            dest="snapshot",
            metavar="SNAP",
            help="a lab from this snapshot (aptstack lab snapshots), with the snapshot's hosts and addresses",
        )


def _playbook_args(cmd):
    _inventory_arg(cmd, "Ansible inventory: groups controller and compute")
    cmd.add_argument("-e", "--extra-vars", action="append", default=[], help=EXTRA_VARS_HELP)
    cmd.add_argument("--tags", help="only run tasks with these tags (comma-separated; e.g. a role's name)")
    cmd.add_argument("--skip-tags", help="skip tasks with these tags (comma-separated)")
    cmd.add_argument("-v", "--verbose", action="count", default=0, help="more Ansible output (repeatable)")


def _inventory_arg(cmd, help_text):
    """-i INVENTORY, or --local: this machine is the whole cloud (an inventory aptstack writes)."""
    group = cmd.add_mutually_exclusive_group(required=True)
    group.add_argument("-i", "--inventory", help=help_text)
    group.add_argument(
        "--local",
        action="store_true",
        help="this machine, over the local connection, as controller and compute (e.g. an autopkgtest testbed); "
        "inventory, secrets and reports in $APTSTACK_STATE_DIR/local",
    )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_lab(name, topology, release, computes, subnet, tunnel_subnet) -> tuple[lab.Lab, dict | None]:
    """lab.up; when it started a deployed lab that was halted (by `lab snapshot`, or a stop of the
    machine), also the wait until its cloud answers again, as after a restore, and its timings."""
    started, started_wall = time.monotonic(), time.time()
    the_lab, started_hosts = lab.up(name, topology, release, computes, subnet, tunnel_subnet, log=_log)
    if not (started_hosts and snapshot.is_deployed(the_lab)):
        return the_lab, None
    timings = snapshot.wait_started_cloud(the_lab, started, started_wall)
    _log(f"lab {name}: cloud answering after {timings['total_s']}s")
    return the_lab, timings


def cmd_lab(args) -> int:
    if args.lab_command == "up":
        if args.snapshot:
            given = [f"--{option.replace('_', '-')}" for option in LAB_SHAPE if getattr(args, option) is not None]
            if given:
                raise UsageError(f"--from takes the hosts and addresses from the snapshot; leave out {' '.join(given)}")
            the_lab, timings = snapshot.restore(args.name, args.snapshot, log=_log)
        else:
            the_lab, timings = start_lab(
                args.name, args.topology or "aio", args.release or DEFAULT_RELEASE,
                1 if args.computes is None else args.computes, args.subnet, args.tunnel_subnet,
            )  # fmt: skip
        summary = the_lab.summary()
        if timings and args.snapshot:
            summary = {**summary, "snapshot": args.snapshot, "restore_s": timings}
        elif timings:
            summary = {**summary, "start_s": timings}
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(f"inventory: {summary['inventory']}")
            for h in summary["hosts"]:
                print(f"  {h['name']:24} {h['address']:15} {','.join(h['groups'])}")
        return 0
    if args.lab_command == "down":
        lab.down(args.name, log=_log)
        return 0
    if args.lab_command == "reports":
        return print_report_summaries(args.name, args.since)
    if args.lab_command in ("snapshot", "snapshots", "snapshot-remove"):
        return cmd_snapshot(args)
    labs = lab.listing()
    if args.json:
        print(json.dumps(labs, indent=2))
    elif not labs:
        print("no labs")
    else:
        for item in labs:
            hosts = ", ".join(
                f"{h['name']} {h['address']} {h['state']}"
                + (f" {h['memory_bytes'] / 2**30:.2f} GiB" if h["memory_bytes"] else "")
                for h in item["hosts"]
            )
            source = f" (from snapshot {item['snapshot']})" if item.get("snapshot") else ""
            print(f"{item['name']:12} {item['topology']:20} {item['release']:9} {item['state']:8} {hosts}{source}")
    return 0


# Options of `lab up` that a snapshot decides.
LAB_SHAPE = ("topology", "computes", "release", "subnet", "tunnel_subnet")


def cmd_snapshot(args) -> int:
    if args.lab_command == "snapshot":
        meta = snapshot.create(args.name, args.snapshot, log=_log)
        if args.json:
            print(json.dumps(meta, indent=2, sort_keys=True))
        else:
            print(f"snapshot: {snapshot.snapshot_dir(meta['name'])}")
        return 0
    if args.lab_command == "snapshot-remove":
        snapshot.remove(args.name, log=_log)
        return 0
    snapshots = snapshot.listing()
    if args.json:
        print(json.dumps(snapshots, indent=2, sort_keys=True))
    elif not snapshots:
        print("no snapshots")
    else:
        for item in snapshots:
            used = f"used by {','.join(item['used_by'])}" if item["used_by"] else "unused"
            print(
                f"{item['name']:12} {item['topology']:20} {item['release']:9} {item['created']} "
                f"{item['disk_bytes'] / 2**30:.2f} GiB  from lab {item['source_lab']} {item['subnet']}  {used}"
            )
    return 0


def cmd_playbook(args, playbook: str, extra=(), stdout=None, env=None) -> int:
    """Check the inputs (one line and exit status 2 when they are wrong), then run the playbook."""
    extra_vars = [*args.extra_vars, *extra]
    runner.check_inputs(args.inventory, extra_vars)
    argv = runner.playbook_argv(
        playbook, args.inventory, extra_vars,
        tags=args.tags, skip_tags=args.skip_tags, verbose=args.verbose,
    )  # fmt: skip
    return runner.run_playbook(argv, env=env, stdout=stdout)


def cmd_deploy(args) -> int:
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="aptstack-deploy-") as tmp:
        failures_file = Path(tmp) / "failures.json"
        status = cmd_playbook(
            args,
            "site",
            [*sources.extra_vars(args), *services_vars(args)],
            env={"APTSTACK_FAILURES_FILE": str(failures_file)},
        )
        record = _read_json(failures_file)
    return _with_diagnostics(args.inventory, status, failure_causes(record), since=started, record=record)


def cmd_teardown(args) -> int:
    return cmd_playbook(args, "teardown", ["teardown_secrets=true"] if args.secrets else [])


def cmd_versions(args) -> int:
    """Run the versions playbook (its output goes to stderr) and print the reports it saved."""
    status = runner.run_playbook(runner.playbook_argv("versions", args.inventory), stdout=sys.stderr)
    if status:
        print(f"aptstack: the versions playbook failed (exit {status})", file=sys.stderr)
        return status
    # A report whose content did not change keeps its time: take every host's, not only new ones.
    reports = sources.read_reports(args.inventory)
    if args.json:
        print(json.dumps(reports, indent=2, sort_keys=True))
    else:
        print(sources.format_reports(reports))
    return 0


def cmd_upgrade(args) -> int:
    source_vars = sources.extra_vars(args)
    if not source_vars:
        raise UsageError("upgrade needs the packages under test: --proposed, --ppa, --cloud-archive or --debs")
    return run_upgrade(args.inventory, args.extra_vars, source_vars, as_json=args.json)


def run_upgrade(inventory: str, extra_vars, source_vars, as_json: bool = False) -> int:
    """Before (versions, canaries), the upgrade (site.yml with the sources), after (what changed,
    the canaries, nova-status), and a fresh verify; then the report, whose verdict is the exit status."""
    runner.check_inputs(inventory, [*extra_vars, *source_vars])
    directory = upgrade.report_dir(inventory)
    steps: dict = dict.fromkeys(upgrade.STEPS)
    failed_tasks: list[str] = []
    out = sys.stderr if as_json else None
    with tempfile.TemporaryDirectory(prefix="aptstack-upgrade-") as tmp:
        failures_file = Path(tmp) / "failures.json"
        for step in upgrade.STEPS:
            # Without a working cloud before, there is nothing to upgrade; a failed upgrade
            # makes a fresh boot-and-ping minutes of waiting for no news. "after" always runs:
            # it reports and removes the canaries.
            if (step == "upgrade" and steps["before"]) or (step == "verify" and (steps["before"] or steps["upgrade"])):
                continue
            extra = [*extra_vars, f"upgrade_check_report_dir={directory}"]
            extra += source_vars if step == "upgrade" else []
            if step == "verify":
                extra += [f"verify_diagnose_dir={directory / lab.DIAGNOSTICS_DIR}"]
            argv = runner.playbook_argv(upgrade.STEP_PLAYBOOKS[step], inventory, extra)
            steps[step] = runner.run_playbook(argv, env={"APTSTACK_FAILURES_FILE": str(failures_file)}, stdout=out)
            failed_tasks += [line for line in failure_lines(_read_json(failures_file)) if line.startswith("FAILED")]
            failures_file.unlink(missing_ok=True)
    result = upgrade.build_report(
        directory, steps, json.loads(source_vars[0])["aptstack_package_sources"], failed_tasks
    )
    if result["verdict"] != "passed" and not os.environ.get("APTSTACK_NO_DIAGNOSTICS"):
        diagnostics = directory / lab.DIAGNOSTICS_DIR
        if (diagnostics / lab.DIAGNOSTICS_REPORT).exists():
            summarize_report(diagnostics, sys.stderr, result["failures"])
        else:
            collect_diagnostics(inventory, out=sys.stderr, headline=result["failures"])
    text = upgrade.write_report(result, directory)
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(text)
    return 0 if result["verdict"] == "passed" else 1


def cmd_verify(args) -> int:
    extra = []
    if args.keep:
        extra.append("verify_keep=true")
    report_dir, started = new_report_dir(args.inventory), time.time()
    with tempfile.TemporaryDirectory(prefix="aptstack-verify-") as tmp:
        result_file, failures_file = Path(tmp) / "result.json", Path(tmp) / "failures.json"
        extra += [f"verify_result_file={result_file}", f"verify_diagnose_dir={report_dir}"]
        env = {"APTSTACK_FAILURES_FILE": str(failures_file)}
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            status = cmd_playbook(args, "verify", extra, stdout=sys.stderr if args.json else None, env=env)
            record = _read_json(failures_file)
            result = verify_result(_read_json(result_file), status, record)
            status = status or (0 if result["result"] == "passed" else 1)
            headline = [f"verify FAILED: {failure}" for failure in result.get("failures", [])]
            status = _with_diagnostics(args.inventory, status, headline, report_dir, since=started, record=record)
        if args.junit:
            junit.write(args.junit, junit.verify_cases(result))
        if args.json:
            print(json.dumps(result, indent=2, sort_keys=True))
    return status


def verify_result(result: dict, status: int, record: dict) -> dict:
    """The check's result object; "failed", naming the cause, whenever the run did not pass."""
    causes = failure_causes(record)
    if not result:
        return {"result": "failed", "failures": causes or [f"the check wrote no result (exit {status})"]}
    if status and result.get("result") == "passed":
        result = {**result, "result": "failed", "failures": [*result.get("failures", []), *causes]}
    return result


def failure_causes(record: dict) -> list[str]:
    """One line per failure of a run record: "host X unreachable: ..." or "X: role : task: message"."""
    causes = []
    for failure in record.get("failures", []):
        first = (failure.get("message") or "").splitlines()[:1]
        if failure.get("kind") == "unreachable":
            causes.append(f"host {failure['host']} unreachable: {first[0] if first else ''}".rstrip(": "))
        else:
            role = f"{failure['role']} : " if failure.get("role") else ""
            causes.append(f"{failure['host']}: {role}{failure['task']}" + (f": {first[0]}" if first else ""))
    return causes


def unreachable_hosts(record: dict) -> list[str]:
    return sorted({f["host"] for f in record.get("failures", []) if f.get("kind") == "unreachable"})


def _with_diagnostics(
    inventory: str, status: int, headline=(), report_dir: Path | None = None, since: float = 0, record=None
) -> int:
    """After a failed run, collect journals, configs and OVN/nova state in one place.

    A report the run already wrote into report_dir (the verify playbook does, before it removes
    its servers) is summarized as it is. Hosts the run could not reach are left out: a second
    attempt would only repeat the connection error. When only unreachable hosts failed there is
    nothing to collect: the run's FAILED TASKS block already named each host and its error.
    Neither is there when only roles' settings checks (preflight) failed: the cause is the input,
    not a host, and the hosts' journals would only say that nothing failed there; its one line is
    said again on stderr."""
    if status == 0 or os.environ.get("APTSTACK_NO_DIAGNOSTICS"):
        return status
    record = record or {}
    failures = record.get("failures", [])
    if failures and all(f.get("preflight") for f in failures):
        for cause in failure_causes(record):
            print(f"aptstack: a setting was refused: {cause}", file=sys.stderr)
        return status
    if report_dir is not None and (report_dir / lab.DIAGNOSTICS_REPORT).exists():
        summarize_report(report_dir, out=sys.stderr, headline=headline)
        return status
    unreachable = unreachable_hosts(record)
    if unreachable and all(f.get("kind") == "unreachable" for f in failures):
        return status
    print("aptstack: run failed; collecting diagnostics", file=sys.stderr)
    collect_diagnostics(inventory, out=sys.stderr, headline=headline, since=since, skip_hosts=unreachable)
    return status


def failure_lines(record: dict) -> list[str]:
    """The failed tasks of a run, as recorded by the failure_summary callback."""
    lines = []
    for failure in record.get("failures", []):
        role = f"{failure['role']} : " if failure.get("role") else ""
        lines.append(f"FAILED {failure['host']} | {role}{failure['task']}")
        lines.extend(f"    {line}" for line in failure.get("message", "").splitlines())
    return lines


SUMMARY_FILE = "summary.txt"
FULL_REPORT_LINE = "  full report (secrets masked): "


def new_report_dir(inventory: str) -> Path:
    return Path(inventory).resolve().parent / lab.DIAGNOSTICS_DIR / time.strftime("%Y%m%d-%H%M%S")


def collect_diagnostics(inventory: str, out, headline=(), since: float = 0, skip_hosts=()) -> int:
    """Run the diagnose playbook, then print what failed, the report's digest and where the report is.

    Service log errors from before `since` (Unix time; 0 keeps all) are left out; so are skip_hosts."""
    report_dir = new_report_dir(inventory)
    argv = runner.playbook_argv(
        "diagnose", inventory, [f"diagnose_dir={report_dir}", f"diagnostics_since={int(since)}"],
        limit=":".join(["all", *(f"!{host}" for host in skip_hosts)]) if skip_hosts else None,
    )  # fmt: skip
    status = runner.run_playbook(argv, stdout=sys.stderr)
    if not (report_dir / lab.DIAGNOSTICS_REPORT).exists():
        print("\n".join([*headline, f"aptstack: the diagnose playbook wrote no report (exit {status})"]), file=out)
        return status or 1
    summarize_report(report_dir, out, headline)
    return 0


def summarize_report(report_dir: Path, out, headline=()) -> None:
    """Print what failed and the report's digest; keep the same text as summary.txt beside the
    report, for `aptstack lab reports`."""
    report_file = report_dir / lab.DIAGNOSTICS_REPORT
    text = report_file.read_text(errors="replace")
    digest = report.digest(text)
    under_test = report.packages_under_test(text)
    summary = [
        *headline,
        "aptstack diagnostics digest",
        *(digest or ["  no failed or restarted unit, no service log errors"]),
        *(["  packages under test:", *(f"    {line}" for line in under_test)] if under_test else []),
        f"{FULL_REPORT_LINE}{report_file}",
    ]
    (report_dir / SUMMARY_FILE).write_text("\n".join(summary) + "\n")
    print("\n" + "\n".join(summary), file=out)


def print_report_summaries(name: str, since: float) -> int:
    """Print the summaries of the lab's failure reports written after `since`; 1 when there are none."""
    summaries = [path for path in lab.report_summaries(name, SUMMARY_FILE) if path.stat().st_mtime >= since]
    for path in summaries:
        print(f"== {path.parent}")
        print("\n".join(_with_report_where_it_is(path)))
    if not summaries:
        print(f"no failure report of lab {name}" + (f" since {time.ctime(since)}" if since else ""))
        return 1
    return 0


def _with_report_where_it_is(summary_file: Path) -> list[str]:
    """A summary's lines, its full-report line naming the report beside it: `lab down` moves a
    lab's reports out of the lab, and the path written at the time of the failure is gone."""
    report_file = summary_file.parent / lab.DIAGNOSTICS_REPORT
    return [
        f"{FULL_REPORT_LINE}{report_file}" if line.startswith(FULL_REPORT_LINE) and report_file.exists() else line
        for line in summary_file.read_text(errors="replace").rstrip().splitlines()
    ]


def cmd_up(args) -> int:
    source_vars = sources.extra_vars(args)
    if args.upgrade_to and not source_vars:
        raise UsageError("--upgrade-to needs the packages under test: --proposed, --ppa, --cloud-archive or --debs")
    # With --upgrade-to the cloud is deployed from the release first; the sources are the upgrade's.
    deploy_sources = [] if args.upgrade_to else source_vars
    deploy_services = services_vars(args)
    # Wrong extra variables are refused before a lab is made for them.
    runner.check_inputs(None, [*args.extra_vars, *source_vars, *deploy_services])
    timings = {}
    started = time.monotonic()
    # A halted deployed lab is started and waited for before the deploy and verify run on it.
    the_lab, _start_timings = start_lab(
        args.name, args.topology, args.release, args.computes, args.subnet, args.tunnel_subnet
    )
    timings["lab"] = time.monotonic() - started
    inventory = the_lab.summary()["inventory"]
    status = 0
    roles, check, failures = {}, {}, {}
    # With --json, stdout carries the summary object only.
    output = sys.stderr if args.json else None
    with tempfile.TemporaryDirectory(prefix="aptstack-up-") as tmp:
        role_file, check_file = Path(tmp) / "roles.json", Path(tmp) / "check.json"
        failures_file = Path(tmp) / "failures.json"
        report_dir = new_report_dir(inventory)
        verify_extra = [f"verify_result_file={check_file}", f"verify_diagnose_dir={report_dir}"]
        for step, extra in (("site", []), ("verify", verify_extra)):
            step_started, step_started_at = time.monotonic(), time.time()
            argv = runner.playbook_argv(step, inventory, [*args.extra_vars, *deploy_sources, *deploy_services, *extra])
            env = {"APTSTACK_FAILURES_FILE": str(failures_file)}
            if step == "site":
                env["APTSTACK_TIMINGS_FILE"] = str(role_file)
            status = runner.run_playbook(argv, env=env, stdout=output)
            failures = _read_json(failures_file)
            if step == "verify":
                check = verify_result(_read_json(check_file), status, failures)
                status = status or (0 if check["result"] == "passed" else 1)
            status = _with_diagnostics(
                inventory, status, failure_lines(failures), report_dir, since=step_started_at, record=failures
            )
            timings["deploy" if step == "site" else step] = time.monotonic() - step_started
            if status:
                break
        roles = _read_json(role_file).get("roles", {})
    if args.tempest and not status:
        tempest_started = time.monotonic()
        status = tempest.run_smoke(inventory, args.extra_vars, stdout=output)
        timings["tempest"] = time.monotonic() - tempest_started
    if args.upgrade_to and not status:
        upgrade_started = time.monotonic()
        status = run_upgrade(inventory, args.extra_vars, source_vars, as_json=args.json)
        timings["upgrade"] = time.monotonic() - upgrade_started
    memory = {node.hostname: lab.node_memory(the_lab, node) for node in the_lab.nodes}
    tested = sources.under_test_lines(sources.read_reports(inventory)) if source_vars else []
    if args.junit:
        junit.write(args.junit, junit.up_cases(timings, failure_causes(failures), check))
    if args.json:
        summary = up_summary(the_lab, inventory, timings, roles, check, status, memory)
        print(
            json.dumps(
                {**summary, "under_test": tested, "failures": failure_causes(failures)}, indent=2, sort_keys=True
            )
        )
        return status
    print(format_up_summary(the_lab, inventory, timings, roles, check, status, memory, tested))
    if status:
        print("\n".join(failure_lines(failures)))
    return status


def up_summary(the_lab, inventory, timings, roles, check, status, memory) -> dict:
    """What `aptstack up` prints, as an object: the lab, step and role times, the check, memory."""
    return {
        "lab": {"name": the_lab.name, "topology": the_lab.topology, "release": the_lab.release},
        "inventory": str(inventory),
        "timings_s": {step: round(seconds, 1) for step, seconds in timings.items()},
        "deploy_roles_s": {name: round(seconds, 1) for name, seconds in (roles or {}).items()},
        "check": check or None,
        "memory_bytes": memory or {},
        "result": "failed" if status else "passed",
    }


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def format_up_summary(the_lab, inventory, timings, roles, check, status, memory=None, tested=()) -> str:
    lines = [
        "",
        "aptstack up summary",
        f"  lab:        {the_lab.name} ({the_lab.topology}, {the_lab.release})",
        f"  inventory:  {inventory}",
    ]
    lines += [f"  {step + ':':11} {seconds:7.1f}s" for step, seconds in timings.items()]
    if roles:
        top = sorted(roles.items(), key=lambda item: item[1], reverse=True)
        lines.append("  deploy by role: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in top))
    timing = check.get("timings", {})
    if timing:
        lines.append("  check:      " + ", ".join(f"{key} {value}" for key, value in timing.items()))
    heat = check.get("heat") or {}
    if heat:
        lines.append(
            f"  heat:       stack {heat.get('status')}, create {heat.get('create_s')}s,"
            f" floating ping {heat.get('ping_s')}s, delete {heat.get('delete_s')}s"
        )
    horizon = check.get("horizon") or {}
    if horizon:
        lines.append(
            f"  horizon:    instances page lists {', '.join(horizon.get('listed') or []) or 'nothing'},"
            f" login {horizon.get('login_s')}s, page {horizon.get('instances_s')}s, total {horizon.get('total_s')}s"
        )
        lines.append(f"  screenshot: {horizon.get('screenshot')}")
    cinder = check.get("cinder") or {}
    if cinder:
        attach = cinder.get("attach") or {}
        boot = cinder.get("boot_from_volume") or {}
        read_back = bool(attach.get("token_read")) and attach.get("token_read") == attach.get("token_written")
        lines.append(
            f"  cinder:     {'passed' if cinder.get('passed') else 'FAILED'}, volume as {attach.get('device')},"
            f" token read back {read_back}, times {attach.get('timings')}; boot from volume {boot.get('timings')}"
        )
    for server in check.get("servers", []):
        lines.append(
            f"  server:     {server.get('inventory_host')} first ping {server['timings'].get('first_ping_s')}s"
        )
    rpc = check.get("rpc") or {}
    if rpc:
        measured = f"{rpc.get('median_ms')} ms per call to nova-conductor (oslo.messaging {rpc.get('oslo_messaging')})"
        lines.append(f"  rpc:        {measured if rpc.get('error') is None else 'not measured: ' + str(rpc['error'])}")
    if memory:
        lines.append(
            "  memory:     "
            + ", ".join(f"{name} {value / 2**30:.2f} GiB" for name, value in memory.items() if value is not None)
        )
    lines += [f"  under test: {line}" for line in tested]
    lines.append(f"  result:     {'FAILED' if status else 'OK'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "local", False):
            args.inventory = str(local.write_inventory())
            local.clean_environment()
        if args.command == "lab":
            return cmd_lab(args)
        if args.command == "deploy":
            return cmd_deploy(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "teardown":
            return cmd_teardown(args)
        if args.command == "versions":
            return cmd_versions(args)
        if args.command == "upgrade":
            return cmd_upgrade(args)
        if args.command == "tempest":
            return tempest.run(args)
        if args.command == "diagnose":
            headline = failure_lines(_read_json(args.failures)) if args.failures else []
            return collect_diagnostics(args.inventory, out=sys.stdout, headline=headline)
        return cmd_up(args)
    except AptstackError as exc:
        print(f"aptstack: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
