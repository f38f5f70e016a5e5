"""Lab snapshots: a deployed lab kept after a clean halt, and labs brought up from it in seconds.

A snapshot is ``<state dir>/snapshots/<name>/``: each host's root filesystem (a full copy,
made once), the lab's files that the cloud needs on the Ansible side (secrets, clouds.yaml,
SSH key, versions reports) and ``snapshot.json`` (release, topology, addresses, versions).

A lab restored from it copies nothing: each host's root is an overlay mount with the
snapshot's rootfs as the read-only lower layer and the lab's own changes in an upper
directory. The hosts keep the snapshot's names and addresses, which the deployed cloud has
written into its databases and configuration (endpoints, OVN chassis, RabbitMQ node names);
so only one lab from a snapshot (or the lab it was taken of) can use them at a time.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import __version__, host, lab, sources
from .errors import AptstackError, UsageError

# Files of a lab directory that a restored lab needs (the inventory is written afresh).
LAB_FILES = ("secrets.yml", "clouds.yaml", "id_ed25519", "id_ed25519.pub")
LAB_DIRS = ("versions",)
CLOUD_TIMEOUT = 300
# Seconds between polls of a restored cloud. What it waits for last, nova-compute's first
# heartbeat, lands at any moment, so a restore reads on average half of this late.
POLL_INTERVAL = 0.5


def snapshot_dir(name: str) -> Path:
    return lab.snapshots_dir() / name


def _check_name(name: str, what: str) -> None:
    if not lab.NAME_PATTERN.match(name or ""):
        raise UsageError(f"invalid {what} name {name!r}: use 1-20 characters a-z, 0-9 and '-', starting with a letter")


def load(name: str) -> dict | None:
    path = snapshot_dir(name) / "snapshot.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def all_snapshots() -> list[dict]:
    if not lab.snapshots_dir().is_dir():
        return []
    # A snapshot being made is a hidden ".NAME.building" directory until it is complete.
    names = [path.parent.name for path in sorted(lab.snapshots_dir().glob("*/snapshot.json"))]
    found = [load(name) for name in names if not name.startswith(".")]
    return [meta for meta in found if meta]


def users(name: str) -> list[str]:
    """The labs whose hosts run on the snapshot's root filesystems."""
    return [item.name for item in lab.all_labs() if item.snapshot == name]


def is_deployed(the_lab: lab.Lab) -> bool:
    """The deploy wrote the lab's secrets and the admin clouds.yaml beside its inventory."""
    directory = the_lab.directory()
    return all((directory / name).is_file() for name in ("inventory.yml", "secrets.yml", "clouds.yaml"))


def metadata(name: str, the_lab: lab.Lab, versions: dict, disk_bytes: int) -> dict:
    """What a snapshot records: where it starts from (release, topology, versions) and its addresses."""
    recorded = lab.Lab.from_json(the_lab.to_json())
    for node in recorded.nodes:
        node.pid = None
    recorded.snapshot = None
    return {
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "aptstack_version": __version__,
        "source_lab": the_lab.name,
        "release": the_lab.release,
        "topology": the_lab.topology,
        "computes": the_lab.computes,
        "subnet": the_lab.subnet,
        "tunnel_subnet": the_lab.tunnel_subnet,
        "hosts": [{"name": n.hostname, "address": n.address, "groups": n.groups} for n in the_lab.nodes],
        "versions": versions,
        "disk_bytes": disk_bytes,
        "lab": recorded.to_json(),
    }


def disk_usage(path: Path, one_file_system: bool = False) -> int:
    """Bytes used on disk under path (du: hard links counted once; a restored host's merged root counts
    whole, unless one_file_system keeps du out of mounts, leaving what a restored lab adds)."""
    out = host.run(["du", "-s", *(["-x"] if one_file_system else []), "--block-size=1", path]).stdout
    return int(out.split()[0])


# ---------------------------------------------------------------- snapshot


def check_snapshot_request(lab_name: str, name: str) -> lab.Lab:
    """Every reason to refuse a snapshot, found before anything is touched."""
    _check_name(lab_name, "lab")
    _check_name(name, "snapshot")
    host.require_root()
    the_lab = lab.load(lab_name)
    if the_lab is None:
        raise UsageError(f"no lab named {lab_name}; see: aptstack lab list")
    if load(name) or snapshot_dir(name).exists():
        raise UsageError(
            f"snapshot {name} already exists; remove it first with: aptstack lab snapshot-remove --name {name}"
        )
    if not is_deployed(the_lab):
        raise UsageError(
            f"lab {lab_name} is not deployed (no secrets.yml and clouds.yaml beside its inventory); "
            f"deploy it first with: aptstack deploy -i {the_lab.directory() / 'inventory.yml'}"
        )
    if lab.lab_state(the_lab) == "partial":
        raise UsageError(f"lab {lab_name} is partly running; start it with: aptstack lab up --name {lab_name}")
    needed = sum(disk_usage(the_lab.node_root(node)) for node in the_lab.nodes)
    check_free_space(needed)
    return the_lab


def check_free_space(needed: int, reserve: int = 2**30) -> None:
    """The snapshot is a full copy: refuse it unless it fits with a reserve left over."""
    place = lab.snapshots_dir()
    while not place.exists():
        place = place.parent
    free = shutil.disk_usage(place).free
    if free < needed + reserve:
        raise UsageError(
            f"not enough space for the snapshot in {lab.snapshots_dir()}: "
            f"it needs {needed / 2**30:.1f} GiB plus {reserve / 2**30:.0f} GiB to spare, {free / 2**30:.1f} GiB free"
        )


def create(lab_name: str, name: str, log=print) -> dict:
    """Halt the lab's hosts cleanly and keep their root filesystems and the lab's files.

    The lab stays, halted: `aptstack lab up --name LAB` starts it again (and waits for its cloud),
    `lab down` removes it (a lab from the snapshot needs the lab's addresses, so it cannot run
    beside it)."""
    the_lab = check_snapshot_request(lab_name, name)
    started = time.monotonic()
    lab.halt_nodes(the_lab, log=log)
    target = snapshot_dir(name)
    building = target.with_name(f".{name}.building")
    try:
        if building.exists():
            shutil.rmtree(building)
        directory = the_lab.directory()
        for node in the_lab.nodes:
            destination = building / "hosts" / node.hostname / "rootfs"
            destination.parent.mkdir(parents=True)
            # A reflink where the filesystem has them (XFS, Btrfs); a plain copy on ext4.
            host.run(["cp", "-a", "--reflink=auto", the_lab.node_root(node), destination])
        files = building / "files"
        files.mkdir()
        for filename in LAB_FILES:
            shutil.copy2(directory / filename, files / filename)
        for dirname in LAB_DIRS:
            if (directory / dirname).is_dir():
                shutil.copytree(directory / dirname, files / dirname)
        versions = sources.read_reports(str(directory / "inventory.yml"))
        meta = metadata(name, the_lab, versions, disk_usage(building))
        (building / "snapshot.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    log(
        f"snapshot {name} of lab {lab_name}: {meta['disk_bytes'] / 2**30:.2f} GiB "
        f"in {time.monotonic() - started:.1f}s; lab {lab_name} is halted "
        f"(aptstack lab up --name {lab_name} starts it, aptstack lab down --name {lab_name} removes it)"
    )
    return meta


# ---------------------------------------------------------------- restore


def address_conflict(meta: dict, routed, other_labs) -> str | None:
    """Why the snapshot's networks cannot be used now, or None."""
    for option in ("subnet", "tunnel_subnet"):
        network = ipaddress.ip_network(meta[option])
        for other in other_labs:
            if any(network.overlaps(ipaddress.ip_network(used)) for used in (other.subnet, other.tunnel_subnet)):
                return (
                    f"snapshot {meta['name']} keeps the addresses of lab {meta['source_lab']} ({network}), "
                    f"which lab {other.name} uses; one lab at a time can use them: "
                    f"take it down first with: aptstack lab down --name {other.name}"
                )
        for route in routed:
            if network.overlaps(route):
                return (
                    f"snapshot {meta['name']} keeps the addresses of lab {meta['source_lab']} ({network}), "
                    f"which overlap {route}, already routed on this host"
                )
    return None


def check_restore_request(name: str, snapshot: str) -> dict:
    """Every reason to refuse a restore, found before anything is touched."""
    _check_name(name, "lab")
    _check_name(snapshot, "snapshot")
    host.require_root()
    host.require_tools()
    meta = load(snapshot)
    if meta is None:
        raise UsageError(f"no snapshot named {snapshot}; see: aptstack lab snapshots")
    if lab.load(name) or (lab.labs_dir() / name).exists():
        raise UsageError(f"lab {name} already exists; take it down first with: aptstack lab down --name {name}")
    conflict = address_conflict(meta, host.routed_networks(), lab.all_labs())
    if conflict:
        raise UsageError(conflict)
    return meta


def restore(name: str, snapshot: str, log=print) -> tuple[lab.Lab, dict]:
    """A lab from the snapshot, its cloud answering; return it and the seconds each step took."""
    meta = check_restore_request(name, snapshot)
    started, started_wall = time.monotonic(), time.time()
    recorded = lab.Lab.from_json(dict(meta["lab"]))
    new = lab.Lab(
        name=name, topology=recorded.topology, release=recorded.release, computes=recorded.computes,
        lab_id=lab._next_lab_id(lab.all_labs()), subnet=recorded.subnet, tunnel_subnet=recorded.tunnel_subnet,
        nodes=recorded.nodes, snapshot=snapshot,
    )  # fmt: skip
    lab.save(new)
    try:
        files = snapshot_dir(snapshot) / "files"
        for filename in LAB_FILES:
            shutil.copy2(files / filename, new.directory() / filename)
        for dirname in LAB_DIRS:
            if (files / dirname).is_dir():
                shutil.copytree(files / dirname, new.directory() / dirname)
    except BaseException:
        lab.down(name, log=lambda _msg: None)
        raise
    lab._start(new, log)
    timings = wait_started_cloud(new, started, started_wall)
    log(f"lab {name} from snapshot {snapshot}: cloud answering after {timings['total_s']}s")
    return new, timings


def wait_started_cloud(the_lab: lab.Lab, started: float, started_wall: float) -> dict:
    """After the hosts of a deployed lab have booted (a restore, or a halted lab started again),
    wait until its cloud answers with heartbeats from after the boot: the database still holds
    those from before the halt, which read as up while nova-compute is still starting. Return the
    seconds each step took since `started` (a time.monotonic(); `started_wall` is the same as
    Unix time)."""
    timings = {"hosts_s": round(time.monotonic() - started, 1)}
    try:
        timings.update(wait_cloud(the_lab.directory() / "clouds.yaml", since=started, reported_since=started_wall))
    except AptstackError as exc:
        raise AptstackError(
            f"lab {the_lab.name} is up but its cloud does not answer: {exc}; "
            f"look with: aptstack diagnose -i {the_lab.directory() / 'inventory.yml'}"
        ) from None
    timings["total_s"] = round(time.monotonic() - started, 1)
    return timings


# ---------------------------------------------------------------- does the cloud answer


def _request(url: str, token: str | None = None, body: dict | None = None, timeout: float = 10):
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.headers, json.loads(response.read() or b"{}")


def token_request(cloud: dict) -> tuple[str, dict]:
    """The keystone URL and body of a password token request, from a clouds.yaml entry."""
    auth = cloud["auth"]
    project_domain = auth.get("project_domain_name", "Default")
    url = auth["auth_url"].rstrip("/")
    url = url + "/auth/tokens" if url.endswith("/v3") else url + "/v3/auth/tokens"
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": auth["username"],
                        "password": auth["password"],
                        "domain": {"name": auth.get("user_domain_name", "Default")},
                    }
                },
            },
            "scope": {"project": {"name": auth["project_name"], "domain": {"name": project_domain}}},
        }
    }
    return url, body


def endpoint(catalog: list, service_type: str, interface: str, region: str | None) -> str:
    for service in catalog:
        if service.get("type") != service_type:
            continue
        for item in service.get("endpoints", []):
            if item.get("interface") == interface and (region is None or item.get("region_id") == region):
                return item["url"].rstrip("/")
    raise AptstackError(f"no {interface} {service_type} endpoint in the catalog")


def _utc_epoch(value) -> float | None:
    """nova's updated_at (ISO 8601 in UTC, without a zone) as a Unix time, or None."""
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=parsed.tzinfo or datetime.timezone.utc).timestamp()


def not_ready(services: list, agents: list, reported_since: float | None = None) -> list[str]:
    """What still keeps the cloud from serving a test: compute services not up, network agents not
    alive. With reported_since (a Unix time), a nova-compute counts as up only once it has reported
    after it: a restored database holds the heartbeats from before the snapshot, and nova reads a
    heartbeat younger than its service_down_time as up while nova-compute is still starting."""
    waiting = []
    computes = [s for s in services if s.get("binary") == "nova-compute"]
    if not computes:
        waiting.append("no nova-compute service")
    for service in computes:
        reported = _utc_epoch(service.get("updated_at"))
        if service.get("state") != "up":
            waiting.append(f"nova-compute on {service.get('host')} is {service.get('state')}")
        elif reported_since is not None and (reported is None or reported < reported_since):
            waiting.append(f"nova-compute on {service.get('host')} has not reported since the restore")
    waiting += [f"{a.get('agent_type')} on {a.get('host')} is not alive" for a in agents if not a.get("alive")]
    return waiting


def wait_cloud(
    clouds_yaml: Path, timeout: float = CLOUD_TIMEOUT, since: float | None = None, reported_since: float | None = None
) -> dict:
    """Wait until keystone issues a token, every nova-compute is up (and has reported after
    reported_since, a Unix time) and every network agent alive; return when each happened (token,
    both APIs answering, compute services up, agents alive, all), in seconds since `since` (a
    time.monotonic(); default: now)."""
    cloud = next(iter(yaml.safe_load(clouds_yaml.read_text())["clouds"].values()))
    url, body = token_request(cloud)
    interface, region = cloud.get("interface", "public"), cloud.get("region_name")
    started = time.monotonic()
    since = started if since is None else since
    timings: dict = {}
    waiting = ["keystone"]
    # One token for every poll: a token request costs keystone more than both reads together.
    token = compute = network = None
    while time.monotonic() - started < timeout:
        try:
            if token is None:
                headers, token_body = _request(url, body=body)
                timings.setdefault("token_s", round(time.monotonic() - since, 1))
                catalog = token_body["token"]["catalog"]
                compute = endpoint(catalog, "compute", interface, region)
                network = endpoint(catalog, "network", interface, region)
                token = headers["X-Subject-Token"]
            services = _request(f"{compute}/os-services", token)[1].get("services", [])
            agents = _request(f"{network}/v2.0/agents", token)[1].get("agents", [])
            timings.setdefault("apis_s", round(time.monotonic() - since, 1))
            if not not_ready(services, [], reported_since):
                timings.setdefault("compute_s", round(time.monotonic() - since, 1))
            if not not_ready([{"binary": "nova-compute", "state": "up"}], agents):
                timings.setdefault("agents_s", round(time.monotonic() - since, 1))
            waiting = not_ready(services, agents, reported_since)
            if not waiting:
                timings["cloud_s"] = round(time.monotonic() - since, 1)
                return timings
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                token = None
            waiting = [f"{exc.url}: {exc.code} {exc.reason}"]
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            waiting = [str(getattr(exc, "reason", exc))]
        time.sleep(POLL_INTERVAL)
    raise AptstackError(f"not answering after {timeout:.0f}s: {'; '.join(waiting)}")


# ---------------------------------------------------------------- list and remove


def listing() -> list[dict]:
    return [
        {
            "name": meta["name"],
            "created": meta["created"],
            "source_lab": meta["source_lab"],
            "release": meta["release"],
            "topology": meta["topology"],
            "subnet": meta["subnet"],
            "tunnel_subnet": meta["tunnel_subnet"],
            "hosts": meta["hosts"],
            "disk_bytes": meta["disk_bytes"],
            "versions": meta.get("versions", {}),
            "used_by": users(meta["name"]),
        }
        for meta in all_snapshots()
    ]


def remove(name: str, log=print) -> None:
    _check_name(name, "snapshot")
    host.require_root()
    if load(name) is None:
        raise UsageError(f"no snapshot named {name}; see: aptstack lab snapshots")
    using = users(name)
    if using:
        raise UsageError(
            f"snapshot {name} is the lower layer of lab(s) {', '.join(using)}; "
            f"take them down first with: aptstack lab down --name {using[0]}"
        )
    host.run(["rm", "-rf", "--one-file-system", snapshot_dir(name)])
    log(f"snapshot {name} removed")
