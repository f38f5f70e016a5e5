# Copyright: aptstack developers
# Apache License 2.0
"""Seconds as the modules and reports show them."""

from __future__ import annotations


def round_seconds(value):
    """Seconds rounded for reports (one decimal), None stays None."""
    return None if value is None else round(float(value), 1)
