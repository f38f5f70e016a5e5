"""Every variable the READMEs tell a user to set is declared in some role's argument specs.

A variable is one the docs name as settable: the first column of a table headed "variable", a name
given with -e (name=value or JSON), a key under vars: in a YAML example, and every *_overrides
name anywhere. README.md is the user's entry point, so every backticked role-prefixed name in it
counts too. (Prose in a role README may name facts and internal values, such as aptstack_secrets.)"""

import re
from pathlib import Path

import pytest
import yaml

from .source_files import ROOT

DOCS = [ROOT / "README.md", *sorted(ROOT.glob("roles/*/README.md"))]
ROLES = sorted(path.name for path in (ROOT / "roles").iterdir() if (path / "meta" / "argument_specs.yml").exists())
ROLE_PREFIXED = re.compile(rf"^(?:{'|'.join(ROLES)})_[a-z0-9_]+$")
IDENTIFIER = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+"


def declared() -> set[str]:
    names = set()
    for spec_file in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            names.update((entry.get("options") or {}).keys())
    return names


def table_variables(text: str) -> set[str]:
    names, in_table = set(), False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if not cells:
            in_table = False
        elif cells[0].lower() == "variable":
            in_table = True
        elif in_table:
            names.update(re.findall(rf"`({IDENTIFIER})`", cells[0]))
    return names


def given_variables(text: str) -> set[str]:
    """Names given with -e, as name=value or as JSON/YAML keys, and keys under vars: in YAML blocks."""
    names = set()
    for argument in re.findall(r"(?:-e|--extra-vars)\s+('[^']*'|\"[^\"]*\"|\S+)", text):
        argument = argument.strip("'\"")
        if argument.startswith("{"):
            names.update(name for name in yaml.safe_load(argument) if re.fullmatch(IDENTIFIER, name))
        names.update(re.findall(rf"^({IDENTIFIER})=", argument))
    for block in re.findall(r"```ya?ml\n(.*?)```", text, re.S):
        names.update(name for name in _vars_keys(yaml.safe_load(block)) if re.fullmatch(IDENTIFIER, name))
    return names


def _vars_keys(node) -> set[str]:
    """The top-level keys of every vars: mapping in a YAML document."""
    keys = set()
    if isinstance(node, list):
        for item in node:
            keys |= _vars_keys(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "vars" and isinstance(value, dict):
                keys |= set(value)
            else:
                keys |= _vars_keys(value)
    return keys


def documented(path: Path) -> set[str]:
    text = path.read_text()
    names = table_variables(text) | given_variables(text)
    names |= {name for name in re.findall(rf"\b({IDENTIFIER}_overrides)\b", text)}
    if path == ROOT / "README.md":
        names |= {name for name in re.findall(rf"`({IDENTIFIER})`", text) if ROLE_PREFIXED.match(name)}
    return names


@pytest.mark.parametrize("path", DOCS, ids=[str(path.relative_to(ROOT)) for path in DOCS])
def test_documented_variables_are_declared(path):
    assert sorted(documented(path) - declared()) == []


def test_the_extraction_finds_what_the_docs_give():
    # Guards the test itself: each kind of mention is found in the README.
    readme = documented(ROOT / "README.md")
    assert {"verify_target_hosts", "nova_compute_nova_compute_conf_overrides"} <= readme
    assert "aptstack_api_workers" in documented(ROOT / "roles" / "aptstack" / "README.md")
    assert "nova_compute_tap_up_hook" in documented(ROOT / "roles" / "nova_compute" / "README.md")
    text = "| variable | x |\n| --- | --- |\n| `a_b` | c |\n\n-e '{\"c_d\": 1}' -e e_f=1\n"
    assert table_variables(text) | given_variables(text) == {"a_b", "c_d", "e_f"}
