# Copyright: aptstack developers
# Apache License 2.0
"""The test guest's three Glance images: names and formats, the test_guest manifest, which
existing image to keep (used by the guest_image module). Plain values only, unit tested."""

from __future__ import annotations

# Glance property holding the sha256 of the uploaded file, and the one naming the guest.
SHA256_PROPERTY = "aptstack_sha256"
GUEST_PROPERTY = "aptstack_guest"


def image_roles(name):
    """Glance names and formats of the three guest images for a guest called ``name``."""
    return {
        "kernel": {"name": f"{name}-kernel", "disk_format": "aki", "container_format": "aki"},
        "ramdisk": {"name": f"{name}-ramdisk", "disk_format": "ari", "container_format": "ari"},
        "disk": {"name": name, "disk_format": "ami", "container_format": "ami"},
    }


def read_manifest(manifest):
    """Pick file names, sha256 sums and the command line out of the test_guest manifest.

    Returns ``(files, command_line)`` where ``files`` maps kernel/ramdisk/disk to a dict
    with ``file`` and ``sha256``. Raises ValueError naming what is missing.
    """
    files = {}
    for role in ("kernel", "ramdisk", "disk"):
        entry = manifest.get(role) if isinstance(manifest, dict) else None
        if not isinstance(entry, dict) or not entry.get("file") or not entry.get("sha256"):
            raise ValueError(f"the manifest has no {role} file with a sha256")
        files[role] = {"file": entry["file"], "sha256": str(entry["sha256"]).lower()}
    command_line = manifest.get("command_line")
    return files, command_line


def _created_key(image):
    return str(image.get("created_at") or "")


def pick_image(images, name, sha256):
    """Choose which of the existing images called ``name`` to keep, and which to delete.

    ``images`` are dicts with id, name, status, created_at and ``properties`` (a dict).
    Only images this module made (with the sha256 property) are considered. The newest
    active image with the wanted sha256 is kept; every other one of the same name is
    deleted. Returns ``(keep_id or None, [ids to delete])``.
    """
    ours = [img for img in images if img.get("name") == name and SHA256_PROPERTY in (img.get("properties") or {})]
    good = [
        img
        for img in ours
        if img.get("status") == "active" and str(img["properties"][SHA256_PROPERTY]).lower() == sha256.lower()
    ]
    good.sort(key=_created_key, reverse=True)
    keep = good[0]["id"] if good else None
    delete = [img["id"] for img in ours if img["id"] != keep]
    return keep, delete


def disk_property_changes(properties, kernel_id, ramdisk_id, command_line):
    """Properties of the disk image that must change so it boots the given kernel/ramdisk."""
    want = {"kernel_id": kernel_id, "ramdisk_id": ramdisk_id, "os_command_line": command_line}
    properties = properties or {}
    return {key: value for key, value in want.items() if value is not None and properties.get(key) != value}
