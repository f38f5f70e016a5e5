"""The project's own files for the unit tests: the checkout's root, and a loader for the Python files
that are not importable modules here (plugins, scripts a role copies to hosts, tools)."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_source(relative: str) -> ModuleType:
    """The module in ROOT/relative, run once for the caller (not put in sys.modules)."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"aptstack_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
