#!/usr/bin/env python3
"""Packs the disk initramfs: busybox, /init and the virtio modules, as a gzip'd newc cpio.

Usage: initramfs.py MODULES_DIR BUSYBOX INIT OUT.cpio.gz

MODULES_DIR is a kernel's /lib/modules/VERSION. The modules named below are copied with
the modules they depend on (read from each .ko's .modinfo "depends=" string), and their
load order, dependencies first, is written to /modules/order. A module the kernel has
built in (modules.builtin) is skipped. The cpio format is the kernel's "newc"
(Documentation/driver-api/early-userspace/buffer-format.rst).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from initramfs_archive import Archive, Modules  # noqa: E402

WANTED = ["virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
          "virtio_pci", "virtio_blk", "virtio_mmio"]


def main():
    modules_dir, busybox, init, out = sys.argv[1:5]
    modules = Modules(modules_dir)
    archive = Archive()
    for directory in ["bin", "dev", "proc", "sys"]:
        archive.directory(directory)
    archive.character_device("dev/console", 5, 1)
    archive.copy("bin/busybox", busybox, 0o755)
    archive.copy("init", init, 0o755)
    order = modules.add_to(archive, WANTED)
    archive.write(out)
    builtin = set(WANTED) & modules.builtin
    print(f"initramfs.py: {out}: busybox, /init, modules {' '.join(order)}"
          + (f" (built in: {' '.join(sorted(builtin))})" if builtin else ""))


main()
