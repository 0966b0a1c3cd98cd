#!/usr/bin/env python3
"""Wraps the test guest's flat image in a Linux bzImage header.

Usage: bzimage.py GUEST.elf PAYLOAD.bin SETUP.bin OUT.img

The result is what a boot loader sees in a distribution's vmlinuz: a boot sector and
setup sectors holding the setup header at 0x1f1, then the protected-mode kernel, which
is loaded at 1 MiB and entered at its 64-bit entry, load address + 0x200. SETUP.bin is
the real-mode stub (setup.S), placed right after the header, where the header's jump
lands: loaders that start the setup code in real mode run it. Field names and offsets
are those of Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header".
"""
import struct
import sys

SECTOR = 512
SETUP_SECTS = 1                 # setup sectors after the boot sector (no real-mode code)
LOAD_ADDRESS = 0x100000         # code32_start and pref_address: 1 MiB
HEADER_END = 0x26C              # end of the protocol 2.15 header; setup.S is linked here (build.sh)
VERSION = 0x020F                # boot protocol 2.15
LOADED_HIGH = 0x01              # loadflags: protected-mode code at 0x100000
XLF_KERNEL_64 = 0x0001          # xloadflags: has the 64-bit entry at +0x200
INITRD_ADDR_MAX = 0x7FFFFFFF
KERNEL_ALIGNMENT = 0x200000
CMDLINE_SIZE = 2047             # the longest command line, without its NUL


def first_load_memsz(elf):
    """p_memsz of the first PT_LOAD: the memory the image occupies, bss included."""
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", elf, phoff + i * phentsize)
        if p_type == 1:
            return struct.unpack_from("<Q", elf, phoff + i * phentsize + 0x28)[0]
    raise SystemExit("no PT_LOAD segment in the ELF image")


def main():
    elf_path, payload_path, setup_path, out_path = sys.argv[1:5]
    elf = open(elf_path, "rb").read()
    payload = open(payload_path, "rb").read()
    stub = open(setup_path, "rb").read()
    init_size = (first_load_memsz(elf) + 0xFFF) & ~0xFFF

    setup = bytearray(SECTOR * (1 + SETUP_SECTS))
    def put(fmt, offset, value):
        struct.pack_into("<" + fmt, setup, offset, value)

    put("B", 0x1F1, SETUP_SECTS)                    # setup_sects
    put("I", 0x1F4, (len(payload) + 15) // 16)      # syssize, in 16-byte paragraphs
    put("H", 0x1FE, 0xAA55)                         # boot_flag
    put("B", 0x200, 0xEB)                           # jump: a short jmp ...
    put("B", 0x201, HEADER_END - 0x202)             # ... over the header
    put("I", 0x202, 0x53726448)                     # header: "HdrS"
    put("H", 0x206, VERSION)                        # version
    put("B", 0x211, LOADED_HIGH)                    # loadflags
    put("I", 0x214, LOAD_ADDRESS)                   # code32_start
    put("I", 0x22C, INITRD_ADDR_MAX)                # initrd_addr_max
    put("I", 0x230, KERNEL_ALIGNMENT)               # kernel_alignment
    put("H", 0x236, XLF_KERNEL_64)                  # xloadflags
    put("I", 0x238, CMDLINE_SIZE)                   # cmdline_size
    put("Q", 0x258, LOAD_ADDRESS)                   # pref_address
    put("I", 0x260, init_size)                      # init_size
    if HEADER_END + len(stub) > len(setup):
        raise SystemExit("the real-mode stub does not fit in the setup sectors")
    setup[HEADER_END:HEADER_END + len(stub)] = stub # where the jump at 0x200 lands

    with open(out_path, "wb") as out:
        out.write(setup)
        out.write(payload)


if __name__ == "__main__":
    main()
