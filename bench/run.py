#!/usr/bin/env python3
"""aptstack's benchmark (make bench): the deploy, re-run, create-to-ping, memory and snapshot
figures of one machine, in one run, beside the targets of issue 16.

It drives the aptstack command only, one lab at a time, and writes bench-<time>.json and
bench-<time>.md into --out. It is a benchmark, not a test: a missed target is reported, never an
exit status; a failed step is (exit 1, the figures gathered so far still written).

Steps, in order:
  cold    aptstack up with an empty aptstack cache (rootfs, keyring and package pool made afresh
          in a temporary APTSTACK_CACHE_DIR): what `make aio` costs on a bare machine, less the venv
  warm    aptstack up with the machine's caches (the aio lab the later steps use)
  rerun   aptstack deploy on the warm lab: the idempotent re-run, with its changed counts
  ping    aptstack verify three times: create request to first ping, median of three, with the
          verify's RPC round trip to nova-conductor (what each RPC call costs)
  memory  each host's proportional set size after the checks (aptstack lab list)
  restore lab snapshot of the warm lab (which is then taken down), lab up --from it and verify,
          twice: restore-to-verify (median of two) and disk use
  cc      aptstack up of a 1 controller + 1 compute lab
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aptstack import host, lab, snapshot
from aptstack.runner import recap_changed

GIB = 2**30
MEMORY_TOP = 20
RESTORES = 2
STEPS = ("cold", "warm", "rerun", "ping", "memory", "restore", "cc")
# Issue 16's figures to reach on this machine kind (2 cores, 24 GiB, QEMU/TCG).
TARGETS = {
    "make_aio_s": 480,
    "warm_deploy_s": 240,
    "rerun_s": 45,
    "create_to_ping_s": 15,
    "aio_memory_gib": 2.0,
    "restore_s": 20,
}


class StepFailed(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def aptstack(args: list[str], log_file: Path, env: dict | None = None) -> tuple[str, float]:
    """Run the aptstack command; stdout is returned (and kept in the log with stderr); raises on failure."""
    log(f"$ aptstack {' '.join(args)}")
    started = time.monotonic()
    with log_file.open("a") as stream:
        stream.write(f"\n$ aptstack {' '.join(args)}\n")
        stream.flush()
        proc = subprocess.run(
            [sys.executable, "-m", "aptstack", *args],
            stdout=subprocess.PIPE,
            stderr=stream,
            text=True,
            env={**os.environ, **(env or {})},
        )
        stream.write(proc.stdout)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise StepFailed(f"aptstack {' '.join(args)} exited {proc.returncode} after {elapsed:.0f} s (see {log_file})")
    return proc.stdout, elapsed


def up_figures(summary: dict, wall_s: float) -> dict:
    """The figures of one `aptstack up --json`."""
    servers = (summary.get("check") or {}).get("servers") or []
    return {
        "wall_s": round(wall_s, 1),
        "steps_s": summary["timings_s"],
        "deploy_roles_s": summary["deploy_roles_s"],
        "first_ping_s": [server["timings"].get("first_ping_s") for server in servers],
        "memory_gib": {name: _gib(value) for name, value in summary["memory_bytes"].items()},
    }


def _gib(value: int | None) -> float | None:
    return None if value is None else round(value / GIB, 2)


class Bench:
    def __init__(self, args):
        self.args = args
        self.prefix = args.name
        self.results: dict = {
            "machine": {
                "cpus": os.cpu_count(),
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
                "kernel": os.uname().release,
            },
            "release": args.release,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "figures": {},
        }
        self.log_file = args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.log"
        self.warm_lab = f"{self.prefix}-aio"

    def inventory(self, name: str) -> str:
        return str(host.state_dir() / "labs" / name / "inventory.yml")

    def up(self, name: str, *options: str, env: dict | None = None) -> dict:
        self.down(name, env)
        out, wall = aptstack(
            ["up", "--name", name, "--release", self.args.release, "--json", *options], self.log_file, env
        )
        summary = json.loads(out)
        if summary["result"] != "passed":
            raise StepFailed(f"aptstack up of {name} did not pass: {summary.get('failures')}")
        return up_figures(summary, wall)

    def down(self, name: str, env: dict | None = None) -> None:
        aptstack(["lab", "down", "--name", name], self.log_file, env)

    def step_cold(self) -> dict:
        # A bench-owned cache: the machine's own stays as it is for every other lab.
        with tempfile.TemporaryDirectory(prefix="aptstack-bench-cache-", dir=host.cache_dir().parent) as cache:
            env = {"APTSTACK_CACHE_DIR": cache}
            try:
                return self.up(f"{self.prefix}-cold", env=env)
            finally:
                self.down(f"{self.prefix}-cold", env)

    def step_warm(self) -> dict:
        return self.up(self.warm_lab)

    def step_rerun(self) -> dict:
        with tempfile.TemporaryDirectory(prefix="aptstack-bench-") as tmp:
            # Where a re-run spends its time: the role_times callback's summary.
            roles_file = Path(tmp) / "roles.json"
            env = {"APTSTACK_TIMINGS_FILE": str(roles_file)}
            out, wall = aptstack(["deploy", "-i", self.inventory(self.warm_lab)], self.log_file, env)
            roles = json.loads(roles_file.read_text()).get("roles", {}) if roles_file.exists() else {}
        return {"wall_s": round(wall, 1), "changed": recap_changed(out), "roles_s": roles}

    def verify(self, name: str) -> tuple[dict, float]:
        out, wall = aptstack(["verify", "-i", self.inventory(name), "--json"], self.log_file)
        check = json.loads(out)
        if check.get("result") != "passed":
            raise StepFailed(f"verify of {name} did not pass: {check.get('failures')}")
        return check, wall

    def step_ping(self) -> dict:
        runs = []
        for _ in range(3):
            check, wall = self.verify(self.warm_lab)
            server = check["servers"][0]["timings"]
            runs.append({"first_ping_s": server.get("first_ping_s"), "active_s": server.get("active_s"),
                         "console_s": server.get("console_s"), "verify_wall_s": round(wall, 1),
                         "rpc_ms": (check.get("rpc") or {}).get("median_ms")})  # fmt: skip
        return {"runs": runs, "median_first_ping_s": statistics.median(run["first_ping_s"] for run in runs)}

    def step_memory(self) -> dict:
        out, _ = aptstack(["lab", "list", "--json"], self.log_file)
        warm = next(item for item in json.loads(out) if item["name"] == self.warm_lab)
        hosts = {node["name"]: _gib(node["memory_bytes"]) for node in warm["hosts"]}
        # Where the memory is: each host's programs, largest first (the candidates to shrink).
        the_lab = lab.load(self.warm_lab)
        programs = {}
        for node in the_lab.nodes:
            by_program = lab.node_memory_by_program(the_lab, node) or {}
            top = _largest_first(by_program)[:MEMORY_TOP]
            programs[node.hostname] = {name: round(value / 2**20) for name, value in top}
        total = round(sum(value or 0 for value in hosts.values()), 2)
        return {"pss_gib": hosts, "total_gib": total, "top_mib": programs}

    def step_restore(self) -> dict:
        snapshot_name, restored = f"{self.prefix}-snap", f"{self.prefix}-restored"
        self.down(restored)
        if snapshot.load(snapshot_name):
            aptstack(["lab", "snapshot-remove", "--name", snapshot_name], self.log_file)
        _, snapshot_s = aptstack(["lab", "snapshot", "--name", self.warm_lab, "--as", snapshot_name], self.log_file)
        # The snapshot keeps the warm lab's addresses: one lab at a time may use them.
        self.down(self.warm_lab)
        restores = []
        try:
            # Twice in a row: the second restore starts from the same untouched snapshot.
            for _ in range(RESTORES):
                _, restore_s = aptstack(["lab", "up", "--name", restored, "--from", snapshot_name], self.log_file)
                try:
                    check, verify_s = self.verify(restored)
                    restored_disk = snapshot.disk_usage(lab.labs_dir() / restored, one_file_system=True)
                    restores.append({
                        "restore_s": round(restore_s, 1),
                        "verify_s": round(verify_s, 1),
                        "restore_to_verify_s": round(restore_s + verify_s, 1),
                        "first_ping_s": check["servers"][0]["timings"].get("first_ping_s"),
                        "restored_lab_disk_gib": _gib(restored_disk),
                    })  # fmt: skip
                finally:
                    self.down(restored)
            snapshot_disk = _gib(snapshot.disk_usage(snapshot.snapshot_dir(snapshot_name), one_file_system=True))
        finally:
            aptstack(["lab", "snapshot-remove", "--name", snapshot_name], self.log_file)
        return {
            "snapshot_s": round(snapshot_s, 1),
            "snapshot_disk_gib": snapshot_disk,
            "restores": restores,
            "restore_s": statistics.median(item["restore_s"] for item in restores),
            "restore_to_verify_s": statistics.median(item["restore_to_verify_s"] for item in restores),
        }

    def step_cc(self) -> dict:
        name = f"{self.prefix}-cc"
        try:
            return self.up(name, "--topology", "controller-compute", "--computes", "1")
        finally:
            self.down(name)

    def run(self) -> int:
        status = 0
        for step in self.args.steps:
            log(f"step {step}")
            started = time.monotonic()
            try:
                self.results["figures"][step] = getattr(self, f"step_{step}")()
            except (StepFailed, KeyError, ValueError) as exc:
                log(f"step {step} failed: {exc}")
                self.results["figures"][step] = {"failed": str(exc)}
                status = 1
            self.results["figures"][step]["step_wall_s"] = round(time.monotonic() - started, 1)
            self.write()
        if self.args.keep:
            log(f"lab {self.warm_lab} kept")
        else:
            self.down(self.warm_lab)
        self.results["verdicts"] = verdicts(self.results["figures"])
        self.write()
        print(markdown(self.results))
        return status

    def write(self) -> None:
        stem = self.log_file.with_suffix("")
        stem.with_suffix(".json").write_text(json.dumps(self.results, indent=2, sort_keys=True) + "\n")
        stem.with_suffix(".md").write_text(markdown(self.results) + "\n")


def verdicts(figures: dict) -> dict:
    """Each target's measured figure and whether it is met (None when the step did not run)."""
    cold, warm = figures.get("cold", {}), figures.get("warm", {})
    measured = {
        "make_aio_s": cold.get("wall_s"),
        "warm_deploy_s": (warm.get("steps_s") or {}).get("deploy"),
        "rerun_s": figures.get("rerun", {}).get("wall_s"),
        "create_to_ping_s": figures.get("ping", {}).get("median_first_ping_s"),
        "aio_memory_gib": figures.get("memory", {}).get("total_gib"),
        "restore_s": figures.get("restore", {}).get("restore_s"),
    }
    return {
        key: {"measured": value, "target": TARGETS[key], "met": None if value is None else value <= TARGETS[key]}
        for key, value in measured.items()
    }


TARGET_LABELS = {
    "make_aio_s": "aio from an empty cache, lab + deploy + verify (s; `make aio` on a bare machine adds the venv)",
    "warm_deploy_s": "warm aio deploy (s)",
    "rerun_s": "aio re-run, changed=0 (s)",
    "create_to_ping_s": "create to first ping, median of three (s)",
    "aio_memory_gib": "aio memory after the checks (GiB PSS)",
    "restore_s": "snapshot restore, cloud answering, median of two (s)",
}


def markdown(results: dict) -> str:
    figures = results["figures"]
    machine = results["machine"]
    lines = [
        f"Machine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, kernel {machine['kernel']}; "
        f"release {results['release']}; started {results['started']}.",
        "",
        "| figure | measured | target | met |",
        "| --- | --- | --- | --- |",
    ]
    found = results.get("verdicts") or verdicts(figures)
    for key, verdict in ((key, found[key]) for key in TARGETS if key in found):
        met = {True: "yes", False: "no", None: "not run"}[verdict["met"]]
        lines.append(f"| {TARGET_LABELS[key]} | {verdict['measured']} | ≤ {verdict['target']} | {met} |")
    lines += ["", "| step | details |", "| --- | --- |"]
    # In the run's order (JSON readers may have sorted the keys), any other entries after.
    order = [step for step in STEPS if step in figures] + sorted(set(figures) - set(STEPS))
    for step in order:
        lines.append(f"| {step} | {_details(step, figures[step])} |")
    return "\n".join(lines)


def _details(step: str, data: dict) -> str:
    if "failed" in data:
        return f"FAILED: {data['failed']}"
    if step.split("_")[0] in ("cold", "warm", "cc"):
        steps = ", ".join(f"{name} {value} s" for name, value in data["steps_s"].items())
        roles = _slowest(data["deploy_roles_s"])
        memory = ", ".join(f"{name} {value} GiB" for name, value in data["memory_gib"].items())
        return f"{data['wall_s']} s ({steps}); first ping {data['first_ping_s']} s; slowest roles: {roles}; {memory}"
    if step == "rerun":
        changed = ", ".join(f"{name}={count}" for name, count in data["changed"].items())
        return f"{data['wall_s']} s, changed {changed}; slowest roles: {_slowest(data.get('roles_s', {}))}"
    if step == "ping":
        runs = "; ".join(
            f"first ping {run['first_ping_s']} s (ACTIVE {run['active_s']} s, guest ready +{run['console_s']} s"
            f", RPC call {run.get('rpc_ms', '-')} ms)"
            for run in data["runs"]
        )
        return f"median {data['median_first_ping_s']} s: {runs}"
    if step == "memory":
        hosts = ", ".join(f"{name} {value} GiB" for name, value in data["pss_gib"].items())
        top = "; ".join(
            f"{name}: " + ", ".join(f"{program} {mib}" for program, mib in _largest_first(programs))
            for name, programs in data.get("top_mib", {}).items()
        )
        return f"{hosts}; largest programs (MiB PSS): {top}"
    if step == "restore":
        restores = "; ".join(
            f"restore {item['restore_s']} s + verify {item['verify_s']} s (first ping {item['first_ping_s']} s), "
            f"restored lab {item['restored_lab_disk_gib']} GiB on disk"
            for item in data["restores"]
        )
        return f"snapshot {data['snapshot_s']} s, {data['snapshot_disk_gib']} GiB on disk; {restores}"
    return json.dumps(data)


def _largest_first(values: dict) -> list[tuple[str, float]]:
    return sorted(values.items(), key=lambda item: item[1], reverse=True)


def _slowest(roles: dict, count: int = 8) -> str:
    return ", ".join(f"{name} {value} s" for name, value in _largest_first(roles)[:count])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="where the JSON and markdown go")
    parser.add_argument("--name", default="bench", help="prefix of the labs and snapshot the benchmark makes")
    parser.add_argument("--release", default="resolute", help="the lab hosts' distribution")
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"comma-separated steps, in this order: {','.join(STEPS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the warm aio lab at the end (unless restore ran)")
    args = parser.parse_args(argv)
    args.steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps: {', '.join(unknown)} (known: {', '.join(STEPS)})")
    if os.geteuid() != 0:
        parser.error("the benchmark builds lab hosts and must run as root")
    if shutil.which("systemd-nspawn") is None:
        parser.error("systemd-nspawn is missing: run make host-deps")
    args.out.mkdir(parents=True, exist_ok=True)
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())
