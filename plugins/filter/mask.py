# Copyright: aptstack developers
# Apache License 2.0
"""The mask filter: hide known secret values in text; masked_diff: a diff with them hidden.

Both filters are documented in mask.yml and masked_diff.yml beside this file.
"""

from __future__ import annotations

import difflib

MASK = "****"


def mask(text, secrets):
    values = sorted({s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True)
    result = str(text)
    for value in values:
        result = result.replace(value, MASK)
    return result


def masked_diff(before, after, secrets, path="file"):
    """Unified diff lines from before to after, each side masked first: a changed secret shows no value."""
    old = mask(before or "", secrets).splitlines()
    new = mask(after or "", secrets).splitlines()
    return list(difflib.unified_diff(old, new, fromfile=f"{path} (current)", tofile=f"{path} (new)", lineterm=""))


class FilterModule:
    def filters(self):
        return {"mask": mask, "masked_diff": masked_diff}
