# Copyright: aptstack developers
# Apache License 2.0
"""The mask filter: hide known secret values in text."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mask
short_description: Replace every given secret value in a text with a fixed mask
description:
  - Returns the input text with each occurrence of each secret replaced by C(****).
  - Longer secrets are replaced first, so a secret that contains another is masked whole.
positional: secrets
options:
  _input:
    description: The text to mask.
    type: str
    required: true
  secrets:
    description: Secret values; empty values and non-strings are ignored.
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Write a report without secrets
  ansible.builtin.copy:
    dest: /tmp/report.txt
    content: "{{ collected.stdout | aptstack.openstack.mask(aptstack_secrets.values() | list) }}"
    mode: "0600"
"""

RETURN = r"""
_value:
  description: The masked text.
  type: str
"""

MASK = "****"


def mask(text, secrets):
    values = sorted({s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True)
    result = str(text)
    for value in values:
        result = result.replace(value, MASK)
    return result


class FilterModule:
    def filters(self):
        return {"mask": mask}
