"""Building blocks of the Linux guests' initramfs images: a newc cpio archive writer, and
a kernel's modules with their load order.

Used by initramfs.py (the disk initramfs of README.md) and scripts/nested/testbed.py (the
test bed's guests). The cpio format is the kernel's "newc"
(Documentation/driver-api/early-userspace/buffer-format.rst).
"""
import gzip
import os
import re
import sys


class Archive:
    """A newc cpio archive, built in memory: directories, files, symlinks, device nodes.
    Parent directories are added as they are needed."""

    def __init__(self):
        self.entries = []
        self.directories = set()

    def directory(self, path, mode=0o755):
        path = path.strip("/")
        if path and path not in self.directories:
            parent = os.path.dirname(path)
            if parent:
                self.directory(parent)
            self.directories.add(path)
            self.entries.append((path, 0o40000 | mode, b""))

    def file(self, path, data, mode=0o644):
        path = path.strip("/")
        self.directory(os.path.dirname(path))
        self.entries.append((path, 0o100000 | mode, data))

    def copy(self, path, source, mode=None):
        """The host file `source` as `path`, with its own permissions unless `mode`."""
        with open(source, "rb") as f:
            data = f.read()
        self.file(path, data, mode if mode is not None else os.stat(source).st_mode & 0o777)

    def symlink(self, path, target):
        path = path.strip("/")
        self.directory(os.path.dirname(path))
        self.entries.append((path, 0o120777, target.encode()))

    def character_device(self, path, major, minor, mode=0o600):
        path = path.strip("/")
        self.directory(os.path.dirname(path))
        self.entries.append((path, 0o20000 | mode, b"", major, minor))

    def bytes(self):
        out = bytearray()
        for inode, entry in enumerate(self.entries, start=1):
            name, mode, data = entry[:3]
            major, minor = entry[3:] if len(entry) == 5 else (0, 0)
            out += _record(name, mode, data, inode, major, minor)
        out += _record("TRAILER!!!", 0, b"", 0, 0, 0)
        return bytes(out)

    def write(self, path, compress=True):
        data = self.bytes()
        with open(path, "wb") as f:
            f.write(gzip.compress(data, compresslevel=6, mtime=0) if compress else data)


def _record(name, mode, data, inode, rdev_major, rdev_minor):
    fields = [inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev_major, rdev_minor, len(name) + 1, 0]
    header = "070701" + "".join(f"{value:08x}" for value in fields)
    record = header.encode() + name.encode() + b"\0"
    record += b"\0" * (-len(record) % 4) + data
    return record + b"\0" * (-len(record) % 4)


class Modules:
    """A kernel's modules (its /lib/modules/VERSION): where each .ko is, which are built
    in (modules.builtin), and what each depends on (its .modinfo "depends=")."""

    def __init__(self, root):
        self.paths = {}
        for directory, _, files in os.walk(os.path.join(root, "kernel")):
            for name in files:
                if name.endswith(".ko"):
                    self.paths[_canonical(name[:-3])] = os.path.join(directory, name)
        self.builtin = set()
        builtin_list = os.path.join(root, "modules.builtin")
        if os.path.exists(builtin_list):
            with open(builtin_list) as f:
                for line in f:
                    self.builtin.add(_canonical(os.path.basename(line.strip())[:-3]))

    def depends(self, name):
        with open(self.paths[name], "rb") as f:
            match = re.search(rb"depends=([^\0]*)\0", f.read())
        return [_canonical(d) for d in match.group(1).decode().split(",") if d] if match else []

    def load_order(self, wanted):
        """`wanted` and what they depend on, dependencies first; built-in ones left out."""
        order = []

        def visit(name, chain):
            if name in order or name in self.builtin:
                return
            if name not in self.paths:
                sys.exit(f"initramfs: module {name} is neither a module nor built in")
            if name in chain:
                sys.exit(f"initramfs: circular dependency through {name}")
            for dependency in self.depends(name):
                visit(dependency, chain + [name])
            order.append(name)

        for name in wanted:
            visit(_canonical(name), [])
        return order

    def add_to(self, archive, wanted, directory="modules"):
        """Copies `wanted` (with dependencies) into `directory` of `archive`, and their load
        order, one name a line, into `directory`/order. Returns the order."""
        order = self.load_order(wanted)
        for name in order:
            archive.copy(f"{directory}/{name}.ko", self.paths[name], 0o644)
        archive.file(f"{directory}/order", ("\n".join(order) + "\n").encode())
        return order


def _canonical(name):
    return name.replace("-", "_")
