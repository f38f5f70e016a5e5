# Copyright: aptstack developers
# Apache License 2.0
"""The regex_errors filter: which of a list of regular expressions do not compile, and why."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: regex_errors
short_description: The regular expressions of a list that Python cannot compile, each with the reason
description:
  - Lets a role's preflight refuse a bad pattern with one line before any host is changed, instead of
    the module that uses the pattern failing later with a traceback. Jinja has no test that says
    whether a pattern compiles.
options:
  _input:
    description: The patterns, as Python's C(re) module reads them.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Check the patterns
  ansible.builtin.assert:
    that: patterns | aptstack.openstack.regex_errors | length == 0
    fail_msg: "Bad patterns: {{ patterns | aptstack.openstack.regex_errors | join('; ') }}"
"""

RETURN = r"""
_value:
  description: "One C(PATTERN: REASON) string for each pattern that does not compile, in the input's order."
  type: list
  elements: str
"""


def regex_errors(patterns):
    errors = []
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            errors.append(f"{pattern}: {error}")
    return errors


class FilterModule:
    def filters(self):
        return {"regex_errors": regex_errors}
