# Copyright: aptstack developers
# Apache License 2.0
"""Check a deploy's inputs before any host is contacted: the inventory's groups and the variables
a user gave, against the roles' argument specs (the one list of what exists)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from ansible.module_utils.parsing.convert_bool import boolean

# Names a user gives that must be declared: the shared settings and every config override. Other
# names are free (an inventory may carry anything), but a declared name given with the wrong type
# is refused too.
CHECKED_NAME = re.compile(r"^(aptstack_[a-z0-9_]+|[a-z0-9_]+_overrides)$")
CONTROLLER, COMPUTE = "controller", "compute"
# A value that cannot be templated before the hosts are contacted (it needs their facts): its type
# is left to the role's own validation.
UNKNOWN = object()
# Ansible's own types and the Python types a value of each may have once templated. A string is
# accepted for scalars the way the roles' own argument validation accepts it (-e name=value gives
# strings), never for a container: the templates would iterate over its characters.
CONTAINERS = {"dict": (Mapping,), "list": (list, tuple)}
SCALAR_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "path": lambda v: isinstance(v, str),
    "bool": lambda v: _is_bool(v),
    "int": lambda v: not isinstance(v, bool) and (isinstance(v, int) or re.fullmatch(r"-?\d+", str(v)) is not None),
    "float": lambda v: not isinstance(v, bool) and _is_float(v),
    "raw": lambda v: True,
}
# A value that passed its check, as its declared type (the others stay as they are).
COERCE = {"int": int, "float": float, "bool": boolean}


def kind_of(value) -> str:
    """The argument-spec name of a value's type (Ansible's tagged str and dict subclasses included)."""
    for kind, types in (("null", type(None)), ("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, types):
            return kind
    if isinstance(value, Mapping):
        return "dict"
    return "list" if isinstance(value, (list, tuple)) else type(value).__name__


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _is_bool(value) -> bool:
    try:
        boolean(value)
    except TypeError:
        return False
    return True


def _is_float(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def load_specs(roles_dir: Path) -> dict[str, dict]:
    """Every option any entry point of any role declares: name -> option spec (with 'role')."""
    declared: dict[str, dict] = {}
    for spec_file in sorted(Path(roles_dir).glob("*/meta/argument_specs.yml")):
        data = yaml.safe_load(spec_file.read_text()) or {}
        for entry in (data.get("argument_specs") or {}).values():
            for name, option in ((entry or {}).get("options") or {}).items():
                declared.setdefault(name, {**(option or {}), "role": spec_file.parents[1].name})
    return declared


def nearest(name: str, declared) -> list[str]:
    return difflib.get_close_matches(name, sorted(declared), n=3, cutoff=0.6)


def coerce(kind: str, value):
    """A value that passed its type check, as the declared type (Ansible's argument validation
    converts types before it compares choices: -e name=5 gives the string "5")."""
    return COERCE[kind](value) if kind in COERCE else value


def choices_text(name: str, choices) -> str:
    """What a value must be: a run of consecutive integers as a range, other choices listed."""
    numbers = [choice for choice in choices if isinstance(choice, int) and not isinstance(choice, bool)]
    if len(numbers) == len(choices) >= 4 and sorted(numbers) == list(range(min(numbers), max(numbers) + 1)):
        return f"{name} must be an integer from {min(numbers)} to {max(numbers)}"
    return f"{name} must be one of {', '.join(map(str, choices))}"


def type_problem(name: str, value, option: dict) -> str | None:
    """Why value does not fit the declared type or choices, or None. Values are never printed:
    some are secrets. As Ansible's own argument validation does, a value is converted to the
    declared type (a list's items to its elements' type) before it is compared with the choices."""
    kind = option.get("type", "str")
    choices = option.get("choices")
    if kind in CONTAINERS:
        if not isinstance(value, CONTAINERS[kind]):
            return f"{name} must be {_a(kind)}, got {_a(kind_of(value))} (give it as YAML or JSON, not name=value)"
        elements = option.get("elements")
        if kind == "list" and elements in SCALAR_CHECKS:
            for item in value:
                if not SCALAR_CHECKS[elements](item):
                    return f"{name} must be a list of {elements}, got an item that is {_a(kind_of(item))}"
            value = [coerce(elements, item) for item in value]
        # A list's choices are its items' (as Ansible's own argument validation reads them).
        unknown = [str(item) for item in value if choices and kind == "list" and item not in choices]
        if unknown:
            return f"{name}: unknown {', '.join(unknown)} (choose from {', '.join(map(str, choices))})"
        return None
    check = SCALAR_CHECKS.get(kind)
    if check is not None and not check(value):
        return f"{name} must be {_a(kind)}, got {_a(kind_of(value))}"
    if choices and coerce(kind, value) not in choices:
        return choices_text(name, choices)
    return None


def variable_problems(given: Mapping[str, tuple[str, object]], declared: Mapping[str, dict]) -> list[str]:
    """given: name -> (where it was given, its templated value). One message per bad name."""
    problems = []
    for name in sorted(given):
        where, value = given[name]
        option = declared.get(name)
        if option is None:
            if CHECKED_NAME.match(name):
                hint = nearest(name, declared)
                suggestion = f"did you mean {' or '.join(hint)}?" if hint else "no role declares it"
                problems.append(f"unknown variable {name} ({where}), {suggestion}")
            continue
        problem = None if value is UNKNOWN else type_problem(name, value, option)
        if problem:
            problems.append(f"{problem} ({where})")
    return problems


def inventory_problems(groups: Mapping[str, list], addresses: Mapping[str, str], sources=()) -> list[str]:
    """The inventory's shape: exactly one controller, at least one compute host, every host in one of
    the two, and no two inventory names for one machine. addresses: host -> its ansible_host."""
    hosts = [host for host in groups.get("all", []) if host != "localhost"]
    if not hosts:
        where = ", ".join(map(str, sources)) or "the inventory"
        return [f"{where} has no hosts (is it empty, or did it fail to parse?)"]
    problems = []
    controllers, computes = list(groups.get(CONTROLLER, [])), list(groups.get(COMPUTE, []))
    if not controllers:
        problems.append("no host in group controller (an all-in-one host is in both controller and compute)")
    elif len(controllers) > 1:
        problems.append(f"group controller has {len(controllers)} hosts ({', '.join(controllers)}); give exactly one")
    if not computes:
        problems.append("no host in group compute (an all-in-one host is in both controller and compute)")
    stray = [host for host in hosts if host not in controllers and host not in computes]
    if stray:
        problems.append(
            f"host{'s' if len(stray) > 1 else ''} {', '.join(stray)} in neither group controller nor compute"
        )
    by_address: dict[str, list[str]] = {}
    for host in hosts:
        address = addresses.get(host)
        by_address.setdefault(address if isinstance(address, str) and address else host, []).append(host)
    for address, names in sorted(by_address.items()):
        if len(names) > 1:
            problems.append(f"hosts {', '.join(sorted(names))} are one machine (address {address}), list it once")
    return problems
