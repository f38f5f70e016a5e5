"""Write each role README's variable tables from its meta/argument_specs.yml.

The argument specs are the source of truth for a role's inputs; the README shows them
between two markers, with the defaults from defaults/main.yml. Everything outside the
markers is written by hand. `make docs` (python tools/role_docs.py) rewrites the tables,
`python tools/role_docs.py --check` lists the READMEs that differ, and a unit test runs
the same comparison, so a README cannot drift from its spec.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN generated from meta/argument_specs.yml by tools/role_docs.py: edit the spec, then run make docs -->"
END = "<!-- END generated -->"
# A default longer than this is shown as a pointer to defaults/main.yml.
MAX_DEFAULT = 60


def _code(text: str) -> str:
    """Inline code for a table cell: pipes escaped, backticks that the text holds kept apart."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# Ansible doc markup: C(code), O(option), V(value), RV(return value), I(italic).
MARKUP = re.compile(r"\b(C|O|V|RV|I)\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def _cell(text: str) -> str:
    text = MARKUP.sub(lambda m: f"*{m[2]}*" if m[1] == "I" else f"`{m[2]}`", " ".join(text.split()))
    return text.replace("|", "\\|")


def _default(name: str, option: dict, defaults: dict, use_role_defaults: bool) -> str:
    if option.get("required"):
        return "required"
    if use_role_defaults and name in defaults:
        value = defaults[name]
    elif "default" in option:
        value = option["default"]
    else:
        return "unset"
    if isinstance(value, str):
        text = " ".join(value.split())
        text = '""' if text == "" else text
    else:
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        text = text.removesuffix("\n...").removesuffix("...").strip()
    if len(text) > MAX_DEFAULT:
        return "computed (`defaults/main.yml`)"
    return _code(text)


def _description(option: dict) -> str:
    description = option.get("description", "")
    if isinstance(description, list):
        description = " ".join(description)
    text = _cell(description)
    if option.get("no_log"):
        text += " Secret (never logged)."
    return text


def _type(option: dict) -> str:
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = f"list of {option['elements']}"
    choices = option.get("choices")
    if choices:
        numbers = [choice for choice in choices if isinstance(choice, int) and not isinstance(choice, bool)]
        # A run of consecutive integers as a range (the input check words it the same way).
        if len(numbers) == len(choices) >= 4 and sorted(numbers) == list(range(min(numbers), max(numbers) + 1)):
            kind += f": `{min(numbers)}` to `{max(numbers)}`"
        else:
            kind += ": " + ", ".join(f"`{choice}`" for choice in choices)
    return kind


def render_tables(role_dir: Path) -> str:
    """The generated block of one role (markers included)."""
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    defaults_file = role_dir / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
    lines = [BEGIN, ""]
    several = len(specs) > 1
    for entry, spec in specs.items():
        options = spec.get("options") or {}
        if several:
            lines += [f"### Entry point `{entry}`", "", _cell(spec.get("short_description", "")), ""]
        if not options:
            lines += ["No variables.", ""]
            continue
        lines += ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
        for name, option in options.items():
            # Role defaults apply to every entry point of the role.
            default = _default(name, option, defaults, use_role_defaults=True)
            lines.append(f"| `{name}` | {_type(option)} | {default} | {_description(option)} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render_readme(role_dir: Path) -> str:
    """The README of a role with its generated block replaced (or added before ## Example)."""
    readme = (role_dir / "README.md").read_text()
    block = render_tables(role_dir)
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(readme):
        return pattern.sub(lambda _: block, readme, count=1)
    if "\n## Variables\n" in readme:
        head, tail = readme.split("\n## Variables\n", 1)
        prose, _, rest = tail.partition("\n## ")
        return f"{head}\n## Variables\n{prose.rstrip()}\n\n{block}\n\n## {rest}"
    section = f"## Variables\n\n{block}\n\n"
    if "\n## Example" in readme:
        head, tail = readme.split("\n## Example", 1)
        return f"{head.rstrip()}\n\n{section}## Example{tail}"
    return f"{readme.rstrip()}\n\n{section}".rstrip() + "\n"


def roles(root: Path = ROOT) -> list[Path]:
    return sorted(path.parent.parent for path in root.glob("roles/*/meta/argument_specs.yml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list READMEs that differ; change nothing")
    args = parser.parse_args(argv)
    stale = []
    for role_dir in roles():
        wanted = render_readme(role_dir)
        if (role_dir / "README.md").read_text() != wanted:
            stale.append(role_dir.name)
            if not args.check:
                (role_dir / "README.md").write_text(wanted)
    if args.check and stale:
        print("README variables differ from the argument specs:", ", ".join(stale), "(run make docs)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
