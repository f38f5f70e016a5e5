#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Ensure the aptstack test guest (kernel, ramdisk, root disk) in Glance."""

from __future__ import annotations

DOCUMENTATION = r"""
module: guest_image
short_description: Ensure the aptstack test guest in Glance, uploaded only when its files changed
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Uploads the test guest built by the C(aptstack.openstack.test_guest) role as three Glance images,
    the way a kernel-plus-initramfs guest has to be stored so that Glance accepts it and nova boots it.
  - The kernel as C(aki), the initramfs as C(ari), and the root disk as C(ami) with the properties
    C(kernel_id), C(ramdisk_id) and C(os_command_line). A bzImage uploaded as C(bare) is rejected by
    Glance's format inspector, which is why the Amazon formats are used.
  - Idempotent by checksum. Every image gets the property C(aptstack_sha256) (the sha256 of its file)
    and C(aptstack_guest) (O(name)). When an active image of the right name and sha256 exists it is
    kept; nothing is uploaded when all three match. A changed file is uploaded as a new image, the disk
    image is pointed at the new kernel or ramdisk, and the older copies are deleted.
  - Only images that carry the C(aptstack_sha256) property are ever deleted.
  - The files are read on the host the module runs on (the controller). Their sha256 sums are checked
    against the manifest before anything is uploaded.
options:
  name:
    description:
      - Name of the disk image. The kernel is called C(<name>-kernel) and the ramdisk C(<name>-ramdisk).
    type: str
    default: aptstack-guest
  manifest:
    description:
      - Path of the C(guest.json) manifest written by the C(test_guest) role. The file names in it are
        relative to the manifest's directory; its sha256 sums and command line are used.
      - Mutually exclusive with O(kernel), O(ramdisk) and O(disk).
    type: path
  kernel:
    description: Path of the kernel image (bzImage), when no O(manifest) is given.
    type: path
  ramdisk:
    description: Path of the initramfs, when no O(manifest) is given.
    type: path
  disk:
    description: Path of the raw root disk, when no O(manifest) is given.
    type: path
  command_line:
    description:
      - Kernel command line stored as C(os_command_line) on the disk image.
      - Default is the manifest's C(command_line), else C(console=ttyS0). It must send the console to
        C(ttyS0), where the guest's marker lines go.
    type: str
  visibility:
    description: Glance visibility of the three images.
    type: str
    choices: [public, private, shared, community]
    default: public
  state:
    description:
      - C(present) ensures the images; C(absent) deletes every image of this guest made by this module.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - openstack.cloud.openstack
notes:
  - Supports check mode; it then reports which images would be uploaded, updated or deleted.
  - O(timeout) bounds each upload.
"""

EXAMPLES = r"""
- name: Build the test guest
  ansible.builtin.include_role:
    name: aptstack.openstack.test_guest

- name: Upload the test guest
  aptstack.openstack.guest_image:
    cloud: aptstack
    manifest: "{{ test_guest_manifest_path }}"
  register: guest

- name: Show the bootable image
  ansible.builtin.debug:
    msg: "boot {{ guest.image_id }} (kernel {{ guest.kernel_id }}, ramdisk {{ guest.ramdisk_id }})"

- name: Remove the test guest images
  aptstack.openstack.guest_image:
    cloud: aptstack
    state: absent
"""

RETURN = r"""
image_id:
  description: ID of the bootable disk image (C(ami)); boot servers from this one.
  returned: state is present and not in check mode or nothing had to change
  type: str
kernel_id:
  description: ID of the kernel image (C(aki)).
  returned: state is present and not in check mode or nothing had to change
  type: str
ramdisk_id:
  description: ID of the ramdisk image (C(ari)).
  returned: state is present and not in check mode or nothing had to change
  type: str
images:
  description: Per image (C(kernel), C(ramdisk), C(disk)) its name, id, sha256 and what was done.
  returned: always
  type: dict
  sample:
    kernel: {name: aptstack-guest-kernel, id: 7d0c..., sha256: 3f1e..., action: kept}
    ramdisk: {name: aptstack-guest-ramdisk, id: 91aa..., sha256: 55b0..., action: uploaded}
    disk: {name: aptstack-guest, id: c2e4..., sha256: 30e1..., action: updated}
uploaded:
  description: Names of the images that were (or in check mode would be) uploaded.
  returned: always
  type: list
  elements: str
deleted:
  description: IDs of older copies that were (or would be) deleted.
  returned: always
  type: list
  elements: str
elapsed:
  description: Seconds the module took, uploads included.
  returned: always
  type: float
"""

import hashlib
import json
import os
import time

from ansible_collections.aptstack.openstack.plugins.module_utils.guest_images import (
    GUEST_PROPERTY,
    SHA256_PROPERTY,
    disk_property_changes,
    image_roles,
    pick_image,
    read_manifest,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.timing import round_seconds
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule

ROLES = ("kernel", "ramdisk", "disk")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class GuestImageModule(OpenStackModule):
    argument_spec = dict(
        name=dict(default="aptstack-guest"),
        manifest=dict(type="path"),
        kernel=dict(type="path"),
        ramdisk=dict(type="path"),
        disk=dict(type="path"),
        command_line=dict(),
        visibility=dict(default="public", choices=["public", "private", "shared", "community"]),
        state=dict(default="present", choices=["present", "absent"]),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        mutually_exclusive=[("manifest", "kernel"), ("manifest", "ramdisk"), ("manifest", "disk")],
        required_together=[("kernel", "ramdisk", "disk")],
    )

    # ----------------------------------------------------------------- helpers

    def _image_dict(self, image):
        """An image as a plain dict with its properties flattened into ``properties``."""
        props = dict(getattr(image, "properties", None) or {})
        for key in ("kernel_id", "ramdisk_id", "os_command_line"):
            value = getattr(image, key, None)
            if value is not None:
                props[key] = value
        return {
            "id": image.id,
            "name": image.name,
            "status": image.status,
            "created_at": getattr(image, "created_at", None),
            "properties": props,
        }

    def _existing(self, names):
        found = []
        for name in names:
            found.extend(self._image_dict(img) for img in self.conn.image.images(name=name))
        return found

    def _wanted_files(self):
        """Map kernel/ramdisk/disk to {path, sha256}, plus the command line."""
        if self.params["manifest"]:
            path = self.params["manifest"]
            try:
                with open(path, encoding="utf-8") as handle:
                    manifest = json.load(handle)
                files, command_line = read_manifest(manifest)
            except (OSError, ValueError) as exc:
                self.fail_json(msg=f"Cannot use the guest manifest {path}: {exc}")
            base = os.path.dirname(path)
            for entry in files.values():
                entry["path"] = os.path.join(base, entry["file"])
        elif self.params["kernel"]:
            files = {role: {"path": self.params[role], "sha256": None} for role in ROLES}
            command_line = None
        else:
            self.fail_json(msg="state=present needs either manifest or kernel, ramdisk and disk")
        for role, entry in files.items():
            if not os.path.isfile(entry["path"]):
                self.fail_json(msg=f"The guest's {role} file {entry['path']} does not exist on this host")
            actual = _sha256(entry["path"])
            if entry["sha256"] and actual != entry["sha256"]:
                self.fail_json(
                    msg=(
                        f"The guest's {role} file {entry['path']} has sha256 {actual}, but the manifest says "
                        f"{entry['sha256']}: the manifest is stale, rebuild the guest"
                    )
                )
            entry["sha256"] = actual
        command_line = self.params["command_line"] or command_line or "console=ttyS0"
        return files, command_line

    def _upload(self, role, spec, entry, extra):
        properties = {SHA256_PROPERTY: entry["sha256"], GUEST_PROPERTY: self.params["name"]}
        properties.update(extra)
        image = self.conn.image.create_image(
            spec["name"],
            filename=entry["path"],
            sha256=entry["sha256"],
            disk_format=spec["disk_format"],
            container_format=spec["container_format"],
            visibility=self.params["visibility"],
            allow_duplicates=True,
            wait=True,
            timeout=self.params["timeout"],
            **properties,
        )
        image = self.conn.image.get_image(image.id)
        if image.status != "active":
            self.fail_json(msg=f"The {role} image {spec['name']} ({image.id}) is {image.status} after its upload")
        return image.id

    # ----------------------------------------------------------------- states

    def _absent(self, started):
        roles = image_roles(self.params["name"])
        existing = self._existing([spec["name"] for spec in roles.values()])
        ours = [img for img in existing if SHA256_PROPERTY in img["properties"]]
        # Delete the disk first: it refers to the kernel and the ramdisk.
        ours.sort(key=lambda img: 0 if img["name"] == self.params["name"] else 1)
        deleted = [img["id"] for img in ours]
        if not self.check_mode:
            for image_id in deleted:
                self.conn.image.delete_image(image_id, ignore_missing=True)
        return dict(
            changed=bool(deleted),
            deleted=deleted,
            uploaded=[],
            images={},
            elapsed=round_seconds(time.monotonic() - started),
        )

    def _present(self, started):
        files, command_line = self._wanted_files()
        roles = image_roles(self.params["name"])
        existing = self._existing([spec["name"] for spec in roles.values()])

        images = {}
        uploaded = []
        to_delete = []
        ids = {}
        for role in ("kernel", "ramdisk"):
            spec, entry = roles[role], files[role]
            keep, delete = pick_image(existing, spec["name"], entry["sha256"])
            to_delete.extend(delete)
            if keep:
                ids[role] = keep
                action = "kept"
            elif self.check_mode:
                ids[role] = None
                action = "uploaded"
                uploaded.append(spec["name"])
            else:
                ids[role] = self._upload(role, spec, entry, {})
                action = "uploaded"
                uploaded.append(spec["name"])
            images[role] = {"name": spec["name"], "id": ids[role], "sha256": entry["sha256"], "action": action}

        spec, entry = roles["disk"], files["disk"]
        keep, delete = pick_image(existing, spec["name"], entry["sha256"])
        to_delete.extend(delete)
        if keep:
            current = next(img for img in existing if img["id"] == keep)
            changes = disk_property_changes(current["properties"], ids["kernel"], ids["ramdisk"], command_line)
            if self.check_mode and (ids["kernel"] is None or ids["ramdisk"] is None):
                changes = changes or {"kernel_id": ids["kernel"], "ramdisk_id": ids["ramdisk"]}
            if changes and not self.check_mode:
                self.conn.image.update_image(keep, **changes)
            ids["disk"] = keep
            action = "updated" if changes else "kept"
        elif self.check_mode:
            ids["disk"] = None
            action = "uploaded"
            uploaded.append(spec["name"])
        else:
            extra = {"kernel_id": ids["kernel"], "ramdisk_id": ids["ramdisk"], "os_command_line": command_line}
            ids["disk"] = self._upload("disk", spec, entry, extra)
            action = "uploaded"
            uploaded.append(spec["name"])
        images["disk"] = {
            "name": spec["name"],
            "id": ids["disk"],
            "sha256": entry["sha256"],
            "action": action,
            "command_line": command_line,
        }

        # Older copies go last, once the disk no longer points at them.
        if not self.check_mode:
            for image_id in to_delete:
                self.conn.image.delete_image(image_id, ignore_missing=True)

        changed = bool(uploaded or to_delete or any(img["action"] != "kept" for img in images.values()))
        return dict(
            changed=changed,
            image_id=ids["disk"],
            kernel_id=ids["kernel"],
            ramdisk_id=ids["ramdisk"],
            images=images,
            uploaded=uploaded,
            deleted=to_delete,
            elapsed=round_seconds(time.monotonic() - started),
        )

    def run(self):
        started = time.monotonic()
        if self.params["state"] == "absent":
            self.exit_json(**self._absent(started))
        self.exit_json(**self._present(started))


def main():
    module = GuestImageModule()
    module()


if __name__ == "__main__":
    main()
