#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Attach a new volume to a booted test guest, have the guest write and read it, and boot a server from a volume."""

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_check
short_description: Check block storage with the aptstack test guest (attach, write, read, detach; boot from volume)
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - B(Attach.) Creates a volume of O(volume_size) GiB (C(<run_name>-volume)), attaches it to O(server),
    a running aptstack test guest, and sets the server's metadata key C(aptstack_volume_token) to a
    random token. The guest reports the new disk and its size on its console, reads the token from
    the metadata service, writes it to the disk's first sector, reads it back past its page cache and
    reports both. The check fails unless one new disk of the volume's size appeared and the token
    read back is the one written. Then it detaches the volume (the guest must report the disk gone)
    and deletes it.
  - B(Boot from volume.) With O(boot_from_volume), boots C(<run_name>-bfv) from a new volume made
    from O(image) (its root disk on the block storage), on O(network), and waits for the guest's
    C(ready) marker; the guest must report its first disk C(vda) with the volume's size. The server
    and its volume (deleted with it) are removed again.
  - Whatever fails, the module removes what it made; the server's metadata has the C(aptstack_run)
    key, so M(aptstack.openstack.boot_check_cleanup) finds a server left by an interrupted run.
options:
  run_name:
    description: Names the volume and the server (C(<run_name>-volume), C(<run_name>-bfv)) and goes into their metadata.
    type: str
    required: true
  server:
    description: ID of a running test guest's server to attach the volume to.
    type: str
    required: true
  volume_size:
    description: Size in GiB of the volumes.
    type: int
    default: 1
  boot_from_volume:
    description: Also boot a server from a volume.
    type: bool
    default: true
  image:
    description: Name or ID of the guest image to make the boot volume from (needed with O(boot_from_volume)).
    type: str
  flavor:
    description: Name or ID of the flavor of the server booted from a volume.
    type: str
  network:
    description: ID of the network of the server booted from a volume.
    type: str
  volume_timeout:
    description: Seconds for a volume to reach a state (available, in-use) or to be deleted.
    type: int
    default: 300
  boot_timeout:
    description: Seconds for the server booted from a volume to become C(ACTIVE).
    type: int
    default: 300
  console_timeout:
    description: Seconds for the guest to answer on its console (the disk's markers, the C(ready) marker).
    type: int
    default: 240
extends_documentation_fragment:
  - openstack.cloud.openstack
notes:
  - Runs where the cloud's API is reachable (the controller), with the credentials of the check's project.
  - The generic O(wait) and O(timeout) options are not used.
"""

EXAMPLES = r"""
- name: Attach a volume to the check's server and boot one server from a volume
  aptstack.openstack.volume_check:
    cloud: aptstack
    run_name: aptstack-verify
    server: "{{ boot.servers[0].id }}"
    image: "{{ guest.image_id }}"
    flavor: aptstack-verify
    network: "{{ boot.servers[0].network_id }}"
  register: volume
"""

RETURN = r"""
attach:
  description: The attach check.
  returned: always
  type: dict
  contains:
    volume_id:
      description: The volume's ID.
      type: str
    device:
      description: The disk the guest saw appear (C(vdb)).
      type: str
    size_bytes:
      description: Its size as the guest reported it.
      type: int
    token_written:
      description: The token the guest wrote.
      type: str
    token_read:
      description: The token it read back.
      type: str
    detached:
      description: Whether the guest reported the disk gone after the detach.
      type: bool
    timings:
      description: Seconds to create (to available), attach (to in-use), the guest's answer, detach and delete.
      type: dict
boot_from_volume:
  description: The boot from volume check (null when not run).
  returned: always
  type: dict
  contains:
    server_id:
      description: The server's ID.
      type: str
    volume_id:
      description: Its boot volume's ID.
      type: str
    disks:
      description: The disks the guest reported at boot (name to bytes).
      type: dict
    timings:
      description: Seconds to ACTIVE, to the guest's ready marker, and to delete the server and its volume.
      type: dict
console:
  description: The guest's marker lines about disks (on failure, of the failing server).
  returned: always
  type: list
  elements: str
"""

import secrets
import time

from ansible_collections.aptstack.openstack.plugins.module_utils.boot_check import RUN_METADATA_KEY, check_run_name
from ansible_collections.aptstack.openstack.plugins.module_utils.guest_console import (
    parse_console,
    parse_volume_markers,
    volume_problems,
)
from ansible_collections.aptstack.openstack.plugins.module_utils.timing import round_seconds
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule

POLL_S = 1.0
GIB = 1024**3
TOKEN_KEY = "aptstack_volume_token"


class CheckFailed(Exception):
    """A failed step; the message says which."""


class VolumeCheckModule(OpenStackModule):
    argument_spec = dict(
        run_name=dict(required=True),
        server=dict(required=True),
        volume_size=dict(type="int", default=1),
        boot_from_volume=dict(type="bool", default=True),
        image=dict(),
        flavor=dict(),
        network=dict(),
        volume_timeout=dict(type="int", default=300),
        boot_timeout=dict(type="int", default=300),
        console_timeout=dict(type="int", default=240),
    )
    module_kwargs = dict(
        supports_check_mode=False,
        required_if=[("boot_from_volume", True, ("image", "flavor", "network"))],
    )

    def _console(self, server_id):
        try:
            out = self.conn.compute.get_server_console_output(server_id)
        except self.sdk.exceptions.SDKException:
            return ""
        return (out.get("output") if isinstance(out, dict) else str(out or "")) or ""

    def _markers(self, text):
        return [line for line in parse_console(text)["markers"] if " volume-" in line or " disks=" in line]

    def _wait_volume(self, volume_id, status, what):
        deadline = time.monotonic() + self.params["volume_timeout"]
        while True:
            volume = self.conn.block_storage.get_volume(volume_id)
            if volume.status == status:
                return volume
            if volume.status in ("error", "error_attaching", "error_detaching", "error_deleting"):
                raise CheckFailed(f"{what}: volume {volume_id} is {volume.status}")
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"{what}: volume {volume_id} is {volume.status}, not {status},"
                    f" after {self.params['volume_timeout']} s"
                )
            time.sleep(POLL_S)

    def _wait_volume_gone(self, volume_id, what):
        deadline = time.monotonic() + self.params["volume_timeout"]
        while self.conn.block_storage.find_volume(volume_id, ignore_missing=True) is not None:
            if time.monotonic() > deadline:
                raise CheckFailed(f"{what}: volume {volume_id} still exists after {self.params['volume_timeout']} s")
            time.sleep(POLL_S)

    def _wait_console(self, server_id, done, timeout, what):
        """Read the console until done(text) or the timeout; returns the text."""
        deadline = time.monotonic() + timeout
        while True:
            text = self._console(server_id)
            if done(text):
                return text
            if time.monotonic() > deadline:
                self.result["console"] = self._markers(text)
                raise CheckFailed(f"{what}: no answer on the guest's console within {timeout} s")
            time.sleep(POLL_S)

    def _attach(self):
        run_name, server_id = self.params["run_name"], self.params["server"]
        size = self.params["volume_size"]
        info = self.result["attach"]
        timings = info.setdefault("timings", {})
        before = parse_volume_markers(self._console(server_id))
        started = time.monotonic()
        volume = self.conn.block_storage.create_volume(
            name=f"{run_name}-volume", size=size, metadata={RUN_METADATA_KEY: run_name}
        )
        self.made_volume = volume.id
        info["volume_id"] = volume.id
        self._wait_volume(volume.id, "available", "create")
        timings["create_s"] = round_seconds(time.monotonic() - started)

        step = time.monotonic()
        self.conn.compute.create_volume_attachment(server_id, volume=volume.id)
        self._wait_volume(volume.id, "in-use", "attach")
        timings["attach_s"] = round_seconds(time.monotonic() - step)

        # The guest reads the token from the metadata service once it sees the new disk.
        step = time.monotonic()
        token = secrets.token_hex(8)
        self.conn.compute.set_server_metadata(server_id, **{TOKEN_KEY: token})
        self.token_set = True

        def answered(text):
            after = parse_volume_markers(text)
            new = [name for name in after["attached"] if name not in before["attached"]]
            return bool(new) and (new[0] in after["read"] or new[0] in after["write_failed"])

        text = self._wait_console(server_id, answered, self.params["console_timeout"], "attach")
        after = parse_volume_markers(text)
        self.result["console"] = self._markers(text)
        new = [name for name in after["attached"] if name not in before["attached"]]
        device = new[0]
        info.update(
            device=device,
            size_bytes=after["attached"][device],
            token_written=after["written"].get(device),
            token_read=after["read"].get(device),
        )
        timings["guest_s"] = round_seconds(time.monotonic() - step)
        problems = volume_problems(before, after, size * GIB, token)
        if problems:
            raise CheckFailed("attach: " + "; ".join(problems))

        step = time.monotonic()
        detached_before = after["detached"].count(device)
        self.conn.compute.delete_volume_attachment(server_id, volume.id)
        self._wait_volume(volume.id, "available", "detach")
        text = self._wait_console(
            server_id,
            lambda text: parse_volume_markers(text)["detached"].count(device) > detached_before,
            self.params["console_timeout"],
            f"detach (the guest did not report {device} gone)",
        )
        info["detached"] = True
        self.result["console"] = self._markers(text)
        timings["detach_s"] = round_seconds(time.monotonic() - step)

        step = time.monotonic()
        self.conn.block_storage.delete_volume(volume.id)
        self._wait_volume_gone(volume.id, "delete")
        self.made_volume = None
        timings["delete_s"] = round_seconds(time.monotonic() - step)
        self.conn.compute.delete_server_metadata(server_id, [TOKEN_KEY])
        self.token_set = False

    def _boot_from_volume(self):
        run_name, size = self.params["run_name"], self.params["volume_size"]
        info = self.result["boot_from_volume"] = {"timings": {}}
        timings = info["timings"]
        image = self.conn.image.find_image(self.params["image"], ignore_missing=True)
        if image is None:
            raise CheckFailed(f"boot from volume: image {self.params['image']!r} not found")
        flavor = self.conn.compute.find_flavor(self.params["flavor"], ignore_missing=True)
        if flavor is None:
            raise CheckFailed(f"boot from volume: flavor {self.params['flavor']!r} not found")
        started = time.monotonic()
        server = self.conn.compute.create_server(
            name=f"{run_name}-bfv",
            flavor_id=flavor.id,
            networks=[{"uuid": self.params["network"]}],
            metadata={RUN_METADATA_KEY: run_name},
            block_device_mapping=[
                {
                    "boot_index": 0,
                    "uuid": image.id,
                    "source_type": "image",
                    "destination_type": "volume",
                    "volume_size": size,
                    "delete_on_termination": True,
                }
            ],
        )
        self.made_server = server.id
        info["server_id"] = server.id
        deadline = started + self.params["boot_timeout"]
        while True:
            server = self.conn.compute.get_server(server.id)
            if server.status == "ACTIVE":
                break
            if server.status == "ERROR":
                fault = (server.fault or {}).get("message", "no fault recorded")
                raise CheckFailed(f"boot from volume: server {server.id} is ERROR: {fault}")
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"boot from volume: server {server.id} is {server.status} after {self.params['boot_timeout']} s"
                )
            time.sleep(POLL_S)
        timings["active_s"] = round_seconds(time.monotonic() - started)
        volumes = [entry["id"] for entry in server.attached_volumes or []]
        info["volume_id"] = volumes[0] if volumes else None
        self.made_server_volume = info["volume_id"]
        step = time.monotonic()
        text = self._wait_console(
            server.id, lambda text: parse_console(text)["ready"], self.params["console_timeout"], "boot from volume"
        )
        timings["console_s"] = round_seconds(time.monotonic() - step)
        self.result["console"] = self._markers(text)
        disks = parse_volume_markers(text)["disks"]
        info["disks"] = disks
        if disks.get("vda") != size * GIB:
            raise CheckFailed(
                f"boot from volume: the guest's first disk is {disks.get('vda', 'missing')} bytes,"
                f" not the volume's {size * GIB}"
            )
        step = time.monotonic()
        self._delete_server(server.id)
        timings["delete_s"] = round_seconds(time.monotonic() - step)

    def _delete_server(self, server_id):
        server = self.conn.compute.find_server(server_id, ignore_missing=True)
        if server is not None:
            self.conn.compute.delete_server(server)
            self.conn.compute.wait_for_delete(server, wait=self.params["volume_timeout"])
        self.made_server = None
        if self.made_server_volume:
            self._wait_volume_gone(self.made_server_volume, "boot from volume: its volume after the server's delete")
            self.made_server_volume = None

    def _clean_up(self):
        """Best effort after a failure: the server booted from a volume, the attached volume."""
        errors = []
        try:
            if self.made_server:
                self._delete_server(self.made_server)
        except (CheckFailed, self.sdk.exceptions.SDKException) as exc:
            errors.append(str(exc))
        try:
            if self.made_volume:
                volume = self.conn.block_storage.find_volume(self.made_volume, ignore_missing=True)
                if volume is not None and volume.status == "in-use":
                    self.conn.compute.delete_volume_attachment(self.params["server"], volume.id)
                    self._wait_volume(volume.id, "available", "cleanup detach")
                if volume is not None:
                    self.conn.block_storage.delete_volume(volume.id)
                    self._wait_volume_gone(volume.id, "cleanup")
            if self.token_set:
                self.conn.compute.delete_server_metadata(self.params["server"], [TOKEN_KEY])
        except (CheckFailed, self.sdk.exceptions.SDKException) as exc:
            errors.append(str(exc))
        return errors

    def run(self):
        error = check_run_name(self.params["run_name"])
        if error:
            self.fail_json(msg=error)
        self.made_volume = self.made_server = self.made_server_volume = None
        self.token_set = False
        self.result = {"changed": True, "attach": {}, "boot_from_volume": None, "console": []}
        started = time.monotonic()
        try:
            self._attach()
            if self.params["boot_from_volume"]:
                self._boot_from_volume()
        except (CheckFailed, self.sdk.exceptions.SDKException) as exc:
            left = self._clean_up()
            msg = f"Volume check: {exc}" + (f" (cleanup: {'; '.join(left)})" if left else "")
            self.fail_json(msg=msg, **self.result)
        self.result["total_s"] = round_seconds(time.monotonic() - started)
        self.exit_json(**self.result)


def main():
    module = VolumeCheckModule()
    module()


if __name__ == "__main__":
    main()
