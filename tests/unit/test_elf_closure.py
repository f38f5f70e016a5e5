"""The test guest's SSH server libraries (roles/test_guest/files/copy_elf_closure.py, run on the
controller): which files of the unpacked packages go into the initramfs, and where."""

import os
import struct

import pytest

from .source_files import load_source

ec = load_source("roles/test_guest/files/copy_elf_closure.py")

TRIPLET = "x86_64-linux-gnu"
INTERP = "/lib64/ld-linux-x86-64.so.2"


def elf(needed=(), interp=None, runpath=None, strtab_vaddr=0x1000):
    """A minimal 64-bit little-endian ELF: program headers for PT_INTERP, PT_DYNAMIC and one
    PT_LOAD that maps the string table at ``strtab_vaddr`` (a virtual address, as in real files)."""
    strings = b"\0"
    offsets = []
    for name in needed:
        offsets.append(len(strings))
        strings += name.encode() + b"\0"
    runpath_offset = None
    if runpath:
        runpath_offset = len(strings)
        strings += runpath.encode() + b"\0"
    interp_bytes = (interp.encode() + b"\0") if interp else b""
    dynamic = [(ec.DT_NEEDED, off) for off in offsets]
    if runpath_offset is not None:
        dynamic.append((ec.DT_RUNPATH, runpath_offset))
    dynamic += [(ec.DT_STRTAB, strtab_vaddr), (ec.DT_NULL, 0)]
    dyn_bytes = b"".join(struct.pack("<qQ", tag, value) for tag, value in dynamic)

    phnum = 3
    phoff = 64
    interp_off = phoff + phnum * 56
    dyn_off = interp_off + len(interp_bytes)
    str_off = dyn_off + len(dyn_bytes)
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, phoff)
    struct.pack_into("<HH", header, 0x36, 56, phnum)
    phdrs = b""
    phdrs += struct.pack("<IIQQQQQQ", ec.PT_INTERP if interp else 0, 4, interp_off, 0, 0, len(interp_bytes), 0, 1)
    phdrs += struct.pack("<IIQQQQQQ", ec.PT_DYNAMIC, 6, dyn_off, 0, 0, len(dyn_bytes), 0, 8)
    phdrs += struct.pack("<IIQQQQQQ", ec.PT_LOAD, 4, str_off, strtab_vaddr, 0, len(strings), len(strings), 1)
    return bytes(header) + phdrs + interp_bytes + dyn_bytes + strings


def put(root, relative, data=None, link=None):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if link is not None:
        os.symlink(link, path)
    else:
        path.write_bytes(data)


@pytest.fixture
def unpacked(tmp_path):
    """A merged-/usr tree the way dpkg-deb -x leaves dropbear-bin, libc6 and a library package."""
    root = tmp_path / "unpacked"
    lib = f"usr/lib/{TRIPLET}"
    put(root, "usr/sbin/dropbear", elf(["libcrypto-ish.so.1", "libc.so.6"], interp=INTERP))
    put(root, f"{lib}/libcrypto-ish.so.1.2.3", elf(["libgmp.so.10", "libc.so.6"]))
    put(root, f"{lib}/libcrypto-ish.so.1", link="libcrypto-ish.so.1.2.3")
    put(root, f"{lib}/libgmp.so.10", elf(["libc.so.6"]))
    put(root, f"{lib}/libc.so.6", elf(["ld-linux-x86-64.so.2"], interp=INTERP))
    put(root, f"{lib}/ld-linux-x86-64.so.2", elf([]))
    # libc6 ships the loader's PT_INTERP path under usr/; the /lib64 link is another package's.
    put(root, "usr/lib64/ld-linux-x86-64.so.2", link=f"../lib/{TRIPLET}/ld-linux-x86-64.so.2")
    return root


def test_reads_interpreter_needed_and_runpath_through_the_load_segment(tmp_path):
    path = tmp_path / "prog"
    path.write_bytes(elf(["liba.so.1", "libb.so.2"], interp=INTERP, runpath="$ORIGIN/../lib:/opt/x"))
    assert ec.read_elf(path) == {
        "interp": INTERP,
        "needed": ["liba.so.1", "libb.so.2"],
        "runpath": ["$ORIGIN/../lib", "/opt/x"],
    }


def test_refuses_what_is_not_a_64_bit_elf(tmp_path):
    path = tmp_path / "script"
    path.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(ec.ElfError, match="not an ELF file"):
        ec.read_elf(path)
    path.write_bytes(b"\x7fELF\x01\x01" + bytes(58))
    with pytest.raises(ec.ElfError, match="64-bit little-endian"):
        ec.read_elf(path)


def test_closure_follows_libraries_of_libraries_to_their_sonames(unpacked):
    lib = f"usr/lib/{TRIPLET}"
    assert ec.closure(str(unpacked), ["usr/sbin/dropbear"]) == {
        # The loader goes where PT_INTERP points; libc's DT_NEEDED on it needs no second copy.
        "lib64/ld-linux-x86-64.so.2": f"{lib}/ld-linux-x86-64.so.2",
        f"{lib}/libc.so.6": f"{lib}/libc.so.6",
        # Copied under its soname (what the loader opens), from the file the link points at.
        f"{lib}/libcrypto-ish.so.1": f"{lib}/libcrypto-ish.so.1.2.3",
        f"{lib}/libgmp.so.10": f"{lib}/libgmp.so.10",
        "usr/sbin/dropbear": "usr/sbin/dropbear",
    }


def test_a_missing_library_names_it_and_who_needs_it(unpacked):
    (unpacked / f"usr/lib/{TRIPLET}/libgmp.so.10").unlink()
    needed_by = r"libgmp\.so\.10 \(needed by usr/lib/x86_64-linux-gnu/libcrypto-ish\.so\.1\)"
    with pytest.raises(ec.ElfError, match=needed_by):
        ec.closure(str(unpacked), ["usr/sbin/dropbear"])


def test_a_missing_program_or_interpreter_is_an_error(unpacked):
    with pytest.raises(ec.ElfError, match="usr/bin/dropbearkey is not in"):
        ec.closure(str(unpacked), ["usr/bin/dropbearkey"])
    (unpacked / "usr/lib64/ld-linux-x86-64.so.2").unlink()
    with pytest.raises(ec.ElfError, match="the ELF interpreter"):
        ec.closure(str(unpacked), ["usr/sbin/dropbear"])


def test_symlinks_never_leave_the_unpacked_tree(unpacked):
    # An absolute link is read inside the tree, not on the machine running the build.
    put(unpacked, "usr/sbin/dbclient", link="/usr/sbin/dropbear")
    copies = ec.closure(str(unpacked), ["usr/sbin/dbclient"])
    assert copies["usr/sbin/dbclient"] == "usr/sbin/dropbear"


def test_copy_writes_executable_files_and_main_reports_json(unpacked, tmp_path, capsys):
    staging = tmp_path / "staging"
    assert ec.main([str(unpacked), str(staging), "usr/sbin/dropbear"]) == 0
    assert '"usr/sbin/dropbear": "usr/sbin/dropbear"' in capsys.readouterr().out
    loader = staging / "lib64/ld-linux-x86-64.so.2"
    assert loader.is_file() and not loader.is_symlink()
    assert os.stat(staging / "usr/sbin/dropbear").st_mode & 0o777 == 0o755
    assert ec.main([str(unpacked), str(staging), "usr/bin/nothing"]) == 1
    assert "copy_elf_closure: usr/bin/nothing is not in" in capsys.readouterr().err
    assert ec.main([str(unpacked)]) == 2


# This machine kind (and every testbed aptstack supports) is 64-bit little-endian x86 or arm.
def test_a_real_program_of_this_machine_resolves_to_its_libc():
    copies = ec.closure("/", ["usr/bin/ls"])
    assert any(destination.endswith("/libc.so.6") for destination in copies)
    assert all(os.path.isfile(os.path.join("/", source)) for source in copies.values())
