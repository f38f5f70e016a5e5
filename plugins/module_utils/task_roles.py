# Copyright: aptstack developers
# Apache License 2.0
"""Which role a task belongs to, for the collection's callback plugins."""

from __future__ import annotations


def owning_role(task):
    """The outermost role in the task's include chain, or None for play-level tasks.

    Shared roles included with include_role (service_common) are charged to the role that
    included them, so reports answer "which component" rather than "which helper".
    """
    owner = None
    node = task
    while node is not None:
        role = getattr(node, "_role", None)
        if role is not None:
            owner = role.get_name(include_role_fqcn=False)
        node = getattr(node, "_parent", None)
    return owner
