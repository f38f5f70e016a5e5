"""The regex_errors filter names each pattern Python cannot compile, with the reason, in order."""

from .source_files import load_source

regex_errors = load_source("plugins/filter/regex_errors.py").regex_errors


def test_good_patterns_give_no_errors():
    assert regex_errors(["^openvswitch$", "^qemu$", "OpenStack|openstack-devel@"]) == []


def test_each_bad_pattern_is_named_with_its_reason_in_order():
    errors = regex_errors(["^ovn$", "^(nova", "[a-"])
    assert len(errors) == 2
    assert errors[0].startswith("^(nova: missing ), unterminated subpattern")
    assert errors[1].startswith("[a-: unterminated character set")
