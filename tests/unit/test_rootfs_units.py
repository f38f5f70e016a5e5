"""Units a lab host's root filesystem masks: links to /dev/null, made again over what was there."""

import os

from aptstack import rootfs


def test_masks_link_to_dev_null_and_replace_an_existing_unit(tmp_path):
    systemd_etc = tmp_path / "etc/systemd/system"
    systemd_etc.mkdir(parents=True)
    (systemd_etc / "sys-kernel-config.mount").write_text("[Mount]\n")

    rootfs.mask_units(tmp_path, rootfs.NO_OP_MOUNTS)
    rootfs.mask_units(tmp_path, rootfs.NO_OP_MOUNTS)

    assert sorted(p.name for p in systemd_etc.iterdir()) == sorted(rootfs.NO_OP_MOUNTS)
    assert {os.readlink(systemd_etc / unit) for unit in rootfs.NO_OP_MOUNTS} == {"/dev/null"}


def test_only_mounts_that_never_mount_in_a_container_are_masked():
    # A mask of a mount a service may need (hugepages, debugfs) would change what is tested.
    assert set(rootfs.NO_OP_MOUNTS) == {
        "var-lib-machines.mount",
        "sys-fs-fuse-connections.mount",
        "sys-kernel-config.mount",
    }
