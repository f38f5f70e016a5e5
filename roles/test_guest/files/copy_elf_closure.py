#!/usr/bin/python3
# Copyright: aptstack developers
# Apache License 2.0
"""Copy dynamically linked programs and every shared library they need into the initramfs
(part of the aptstack.openstack collection, role test_guest).

    copy_elf_closure.py UNPACKED STAGING PROGRAM...

UNPACKED is a tree of unpacked .deb files (dpkg-deb -x), STAGING the initramfs being built;
each PROGRAM is a path relative to UNPACKED (for example usr/sbin/dropbear). The programs,
their ELF interpreter (PT_INTERP) and the closure of their DT_NEEDED libraries are copied to the
same paths in STAGING, so the guest's dynamic loader finds them in its default directories.
Libraries are looked up only in UNPACKED, never on the machine running this: the guest gets the
distribution's own libraries of the release the packages came from. A library that is not there
is an error naming it (the package that holds it is missing from the download).

The ELF reading is done here with the standard library (64-bit little-endian, which is what
the guest architectures aptstack builds for use), so no binutils is needed on the controller and
nothing downloaded is executed. Prints a JSON report of what was copied.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys

PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
DT_RUNPATH = 29
DT_RPATH = 15

# Where Debian and Ubuntu put shared libraries, relative to the root; <triplet> is the multiarch
# directory, taken from the interpreter's own directory (e.g. x86_64-linux-gnu).
LIBRARY_DIRS = ("usr/lib/{triplet}", "lib/{triplet}", "usr/lib", "lib", "usr/lib64", "lib64")


class ElfError(Exception):
    """A file that is not an ELF object this helper can read, or a library that is missing."""


def read_elf(path):
    """Return ``{"interp": str or None, "needed": [sonames], "runpath": [dirs]}`` of an ELF file."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != b"\x7fELF":
        raise ElfError(f"{path} is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError(f"{path} is not a 64-bit little-endian ELF file")
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    interp = None
    dynamic = None
    loads = []
    for index in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + index * phentsize
        )
        if p_type == PT_INTERP:
            interp = data[p_offset : p_offset + p_filesz].split(b"\0", 1)[0].decode()
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
    needed_offsets, runpath_offsets, strtab_vaddr = [], [], None
    if dynamic:
        offset, size = dynamic
        for entry in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, entry)
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                needed_offsets.append(value)
            elif tag in (DT_RUNPATH, DT_RPATH):
                runpath_offsets.append(value)
            elif tag == DT_STRTAB:
                strtab_vaddr = value
    if (needed_offsets or runpath_offsets) and strtab_vaddr is None:
        raise ElfError(f"{path} has dynamic entries but no string table")

    def string(offset):
        # DT_STRTAB is a virtual address: map it through the PT_LOAD segments to a file offset.
        for vaddr, file_offset, filesz in loads:
            if vaddr <= strtab_vaddr < vaddr + filesz:
                start = file_offset + (strtab_vaddr - vaddr) + offset
                return data[start : data.index(b"\0", start)].decode()
        raise ElfError(f"{path}: the string table lies outside its loaded segments")

    runpath = [part for value in runpath_offsets for part in string(value).split(":") if part]
    return {"interp": interp, "needed": [string(value) for value in needed_offsets], "runpath": runpath}


def _inside(root, relative):
    """Resolve ``relative`` under ``root`` the way the guest would, symlinks staying inside root."""
    parts = [part for part in relative.split("/") if part]
    resolved = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        if part == ".":
            continue
        candidate = os.path.join(root, *resolved, part)
        if os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise ElfError(f"too many symbolic links under {root}/{relative}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    return "/".join(resolved)


def locate(root, relative):
    """``relative`` resolved under root, or under root/usr when only there (None when neither).

    Packages of a merged-/usr release ship their files under usr/ only: the /lib64 -> usr/lib64
    link that makes PT_INTERP (/lib64/ld-linux-x86-64.so.2) resolve comes from another package.
    """
    for candidate in (relative, "usr/" + relative.strip("/")):
        resolved = _inside(root, candidate)
        if os.path.isfile(os.path.join(root, resolved)):
            return resolved
    return None


def find_library(root, soname, search_dirs):
    """The path (relative to root, symlinks resolved) of ``soname`` in the first search dir holding it."""
    for directory in search_dirs:
        relative = locate(root, f"{directory}/{soname}")
        if relative is not None:
            return directory, relative
    return None, None


def closure(root, programs):
    """What to copy for ``programs`` (paths relative to root): a dict of destination to source.

    Destinations are paths relative to the guest's root: each program at its own path, the
    interpreter at its PT_INTERP path, each library under the directory it was found in (with
    its soname as file name, which is what the loader opens). Sources are relative to root with
    symlinks resolved. Raises ElfError naming every library that cannot be found.
    """
    copies = {}
    interpreters = set()
    missing = []
    queue = []
    for program in programs:
        program = program.strip("/")
        source = locate(root, program)
        if source is None:
            raise ElfError(f"{program} is not in {root}")
        copies[program] = source
        queue.append((program, source))
    seen = set()
    while queue:
        name, source = queue.pop(0)
        if source in seen:
            continue
        seen.add(source)
        info = read_elf(os.path.join(root, source))
        if info["interp"]:
            interpreters.add(info["interp"].strip("/"))
        triplets = {os.path.basename(os.path.dirname(locate(root, interp) or interp)) for interp in interpreters}
        search = [part.strip("/") for part in info["runpath"] if "$" not in part]
        for triplet in sorted(triplets) or [""]:
            search.extend(d.format(triplet=triplet) for d in LIBRARY_DIRS if triplet or "{triplet}" not in d)
        search = list(dict.fromkeys(search))
        for soname in info["needed"]:
            directory, found = find_library(root, soname, search)
            if found is None:
                missing.append(f"{soname} (needed by {name})")
                continue
            destination = f"{directory}/{soname}"
            copies.setdefault(destination, found)
            queue.append((destination, found))
    for interp in sorted(interpreters):
        source = locate(root, interp)
        if source is None:
            missing.append(f"{interp} (the ELF interpreter)")
            continue
        # libc names the loader as a DT_NEEDED too; the loader is already running then, so the
        # copy at its PT_INTERP path is the only one the guest needs.
        for destination in [d for d, s in copies.items() if s == source]:
            del copies[destination]
        copies[interp] = source
    if missing:
        raise ElfError("not in the unpacked packages: " + ", ".join(sorted(set(missing))))
    return dict(sorted(copies.items()))


def copy_closure(root, staging, programs):
    """Copy ``closure(root, programs)`` into staging; return that mapping."""
    copies = closure(root, programs)
    for destination, source in copies.items():
        target = os.path.join(staging, destination)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(root, source), target)
        os.chmod(target, 0o755)
    return copies


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: copy_elf_closure.py UNPACKED STAGING PROGRAM...\n")
        return 2
    try:
        copies = copy_closure(argv[0], argv[1], argv[2:])
    except (ElfError, OSError) as exc:
        sys.stderr.write(f"copy_elf_closure: {exc}\n")
        return 1
    print(json.dumps({"copied": copies}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
