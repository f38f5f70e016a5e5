"""The regex_errors filter names each pattern Python cannot compile, with the reason, in order."""

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "regex_errors", Path(__file__).resolve().parents[2] / "plugins" / "filter" / "regex_errors.py"
)
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)
regex_errors = _MODULE.regex_errors


def test_good_patterns_give_no_errors():
    assert regex_errors(["^openvswitch$", "^qemu$", "OpenStack|openstack-devel@"]) == []


def test_each_bad_pattern_is_named_with_its_reason_in_order():
    errors = regex_errors(["^ovn$", "^(nova", "[a-"])
    assert len(errors) == 2
    assert errors[0].startswith("^(nova: missing ), unterminated subpattern")
    assert errors[1].startswith("[a-: unterminated character set")
