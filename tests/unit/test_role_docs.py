"""Role READMEs show exactly the variables of their argument specs (tools/role_docs.py)."""

import pytest
import yaml

from .source_files import ROOT, load_source

role_docs = load_source("tools/role_docs.py")
ROLES = role_docs.roles()


def test_every_role_is_documented():
    assert len(ROLES) == len(list(ROOT.glob("roles/*/README.md"))) >= 20


@pytest.mark.parametrize("role_dir", ROLES, ids=lambda path: path.name)
def test_readme_matches_the_argument_specs(role_dir):
    readme = (role_dir / "README.md").read_text()
    assert readme == role_docs.render_readme(role_dir), f"{role_dir.name}: run make docs"


@pytest.mark.parametrize("role_dir", ROLES, ids=lambda path: path.name)
def test_every_default_is_in_the_argument_specs(role_dir):
    defaults_file = role_dir / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    specified = {name for spec in specs.values() for name in (spec.get("options") or {})}
    # The aptstack role checks its arguments before it loads the secrets: a value composed
    # from them (the transport URL) cannot be in its spec, and its README names it by hand.
    if role_dir.name == "aptstack":
        specified |= {name for name, value in defaults.items() if "aptstack_secrets" in str(value)}
        assert "aptstack_transport_url" in (role_dir / "README.md").read_text()
    assert sorted(set(defaults) - specified) == []


@pytest.mark.parametrize("role_dir", ROLES, ids=lambda path: path.name)
def test_a_default_is_defined_once(role_dir):
    """A spec default beside defaults/main.yml would be a second definition, free to drift."""
    defaults_file = role_dir / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    twice = [
        name
        for spec in specs.values()
        for name, option in (spec.get("options") or {}).items()
        if name in defaults and "default" in option
    ]
    assert twice == []


def test_a_changed_spec_shows_in_the_readme(tmp_path):
    role_dir = tmp_path / "roles" / "demo"
    (role_dir / "meta").mkdir(parents=True)
    (role_dir / "defaults").mkdir()
    (role_dir / "defaults" / "main.yml").write_text('demo_port: 5000\ndemo_url: "http://{{ host }}:5000"\n')
    spec = {"argument_specs": {"main": {"options": {"demo_port": {"type": "int", "description": "API port."}}}}}
    (role_dir / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    (role_dir / "README.md").write_text("# demo\n\nIntro.\n\n## Example\n\nx\n")
    first = role_docs.render_readme(role_dir)
    assert "| `demo_port` | int | `5000` | API port. |" in first
    assert first.startswith("# demo\n\nIntro.\n\n## Variables\n") and first.endswith("## Example\n\nx\n")
    (role_dir / "README.md").write_text(first)
    assert role_docs.render_readme(role_dir) == first
    spec["argument_specs"]["main"]["options"]["demo_url"] = {"type": "str", "description": "URL with a | pipe."}
    (role_dir / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    second = role_docs.render_readme(role_dir)
    assert second != first
    assert "| `demo_url` | str | `http://{{ host }}:5000` | URL with a \\| pipe. |" in second
