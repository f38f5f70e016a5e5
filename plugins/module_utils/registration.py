# Copyright: aptstack developers
# Apache License 2.0
"""Decisions of the service_registration module, free of openstacksdk so they can be unit tested."""

from __future__ import annotations


def plan_service(existing, name, service_type, description):
    """Return ('create', attrs), ('update', attrs) or (None, {}) for the catalog service."""
    wanted = {"name": name, "type": service_type}
    if description is not None:
        wanted["description"] = description
    if existing is None:
        return "create", dict(wanted, is_enabled=True)
    update = {k: v for k, v in wanted.items() if existing.get(k) != v}
    if not existing.get("is_enabled", True):
        update["is_enabled"] = True
    return ("update", update) if update else (None, {})


def plan_endpoints(existing, interfaces, url, region):
    """Plan endpoint changes for one service.

    existing: list of dicts with id, interface, url, region_id.
    Returns (create, update, delete): interfaces to create, {id: url} to fix,
    and ids of duplicate endpoints of the same interface and region to remove.
    """
    create, update, delete = [], {}, []
    for interface in interfaces:
        matches = [e for e in existing if e["interface"] == interface and e.get("region_id") == region]
        if not matches:
            create.append(interface)
            continue
        keep = next((e for e in matches if e["url"] == url), matches[0])
        if keep["url"] != url:
            update[keep["id"]] = url
        delete.extend(e["id"] for e in matches if e["id"] != keep["id"])
    return create, update, delete
