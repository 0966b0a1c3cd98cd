#!/usr/bin/env python3
"""Packs the disk initramfs: busybox, /init and the virtio modules, as a gzip'd newc cpio.

Usage: initramfs.py MODULES_DIR BUSYBOX INIT OUT.cpio.gz

MODULES_DIR is a kernel's /lib/modules/VERSION. The modules named below are copied with
the modules they depend on (read from each .ko's .modinfo "depends=" string), and their
load order, dependencies first, is written to /modules/order. A module the kernel has
built in (modules.builtin) is skipped. The cpio format is the kernel's "newc"
(Documentation/driver-api/early-userspace/buffer-format.rst).
"""
import gzip
import os
import re
import sys

WANTED = ["virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
          "virtio_pci", "virtio_blk", "virtio_mmio"]


def find_modules(root):
    paths = {}
    for directory, _, files in os.walk(os.path.join(root, "kernel")):
        for name in files:
            if name.endswith(".ko"):
                paths[name[:-3].replace("-", "_")] = os.path.join(directory, name)
    builtin = set()
    builtin_list = os.path.join(root, "modules.builtin")
    if os.path.exists(builtin_list):
        for line in open(builtin_list):
            builtin.add(os.path.basename(line.strip())[:-3].replace("-", "_"))
    return paths, builtin


def depends(path):
    match = re.search(rb"depends=([^\0]*)\0", open(path, "rb").read())
    return [d.replace("-", "_") for d in match.group(1).decode().split(",") if d] if match else []


def load_order(paths, builtin):
    order = []

    def visit(name, chain):
        if name in order or name in builtin:
            return
        if name not in paths:
            sys.exit(f"initramfs.py: module {name} is neither a module nor built in")
        if name in chain:
            sys.exit(f"initramfs.py: circular dependency through {name}")
        for dependency in depends(paths[name]):
            visit(dependency, chain + [name])
        order.append(name)

    for name in WANTED:
        visit(name, [])
    return order


def cpio_entry(name, mode, data=b"", inode=1):
    header = "070701" + "".join(f"{value:08x}" for value in [
        inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0])
    record = header.encode() + name.encode() + b"\0"
    record += b"\0" * (-len(record) % 4) + data
    return record + b"\0" * (-len(record) % 4)


def main():
    modules_dir, busybox, init, out = sys.argv[1:5]
    paths, builtin = find_modules(modules_dir)
    order = load_order(paths, builtin)
    entries = [("bin", 0o40755, b""), ("dev", 0o40755, b""), ("proc", 0o40755, b""), ("sys", 0o40755, b""),
               ("modules", 0o40755, b""), ("dev/console", 0o20600, b"")]
    entries.append(("bin/busybox", 0o100755, open(busybox, "rb").read()))
    entries.append(("init", 0o100755, open(init, "rb").read()))
    for name in order:
        entries.append((f"modules/{name}.ko", 0o100644, open(paths[name], "rb").read()))
    entries.append(("modules/order", 0o100644, ("\n".join(order) + "\n").encode()))
    archive = b""
    for inode, (name, mode, data) in enumerate(entries, start=1):
        archive += cpio_entry(name, mode, data, inode)
    archive += cpio_entry("TRAILER!!!", 0, b"", 0)
    with open(out, "wb") as f:
        f.write(gzip.compress(archive, mtime=0))
    print(f"initramfs.py: {out}: busybox, /init, modules {' '.join(order)}"
          + (f" (built in: {' '.join(sorted(set(WANTED) & builtin))})" if set(WANTED) & builtin else ""))


main()
