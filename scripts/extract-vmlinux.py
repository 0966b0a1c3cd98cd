#!/usr/bin/env python3
"""Extracts the uncompressed ELF vmlinux from a bzImage.

Usage: extract-vmlinux.py BZIMAGE OUT

A bzImage's protected-mode part is a small decompressor followed by the compressed
kernel ("payload"). This finds the payload by its format's magic bytes, decompresses it
and keeps the first result that is an ELF file: the vmlinux that `swiftvmm run --kernel`
boots through its ELF entry point. It does what Linux's scripts/extract-vmlinux does,
with Python's standard library instead of external decompressors, and a small decoder
for LZ4's legacy frame format, which the kernel's `make` uses (lz4 -l) and Python lacks.
"""
import bz2
import lzma
import struct
import sys
import zlib

ELF_MAGIC = b"\x7fELF"
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"  # 0x184C2102, little-endian
LZ4_LEGACY_BLOCK = 8 << 20  # each legacy block decompresses to at most 8 MiB


def lz4_block(src, out):
    """Appends the decompression of one LZ4 block (lz4 block format spec) to `out`."""
    i, n = 0, len(src)
    while i < n:
        token = src[i]
        i += 1
        literals = token >> 4
        if literals == 15:
            while True:
                extra = src[i]
                i += 1
                literals += extra
                if extra != 255:
                    break
        out += src[i:i + literals]
        i += literals
        if i >= n:  # the last sequence has literals only
            break
        offset = src[i] | src[i + 1] << 8
        i += 2
        length = token & 15
        if length == 15:
            while True:
                extra = src[i]
                i += 1
                length += extra
                if extra != 255:
                    break
        length += 4  # minimum match
        start = len(out) - offset
        if offset <= 0 or start < 0:
            raise ValueError("bad LZ4 match offset")
        while length > 0:  # the match may overlap what it produces
            chunk = min(length, offset)
            out += out[start:start + chunk]
            start += chunk
            length -= chunk


def lz4_legacy(data):
    """Decompresses an LZ4 legacy frame: the magic, then blocks of {u32 size, bytes}.
    The kernel appends its uncompressed size after the last block; stop at anything that
    is not a plausible block."""
    out = bytearray()
    i = len(LZ4_LEGACY_MAGIC)
    while i + 4 <= len(data):
        size, = struct.unpack_from("<I", data, i)
        if size == 0 or size > LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK // 255 + 16 or i + 4 + size > len(data):
            break
        lz4_block(data[i + 4:i + 4 + size], out)
        i += 4 + size
    return bytes(out)


def gzip(data):
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)


def xz(data):
    return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data)


def lzma_alone(data):
    return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(data)


def bzip2(data):
    return bz2.BZ2Decompressor().decompress(data)


FORMATS = [
    ("gzip", b"\x1f\x8b\x08", gzip),
    ("xz", b"\xfd7zXZ\x00", xz),
    ("bzip2", b"BZh", bzip2),
    ("lzma", b"\x5d\x00\x00", lzma_alone),
    ("lz4", LZ4_LEGACY_MAGIC, lz4_legacy),
]


def extract(image):
    for name, magic, decompress in FORMATS:
        start = image.find(magic)
        while start >= 0:
            try:
                result = decompress(image[start:])
            except (ValueError, IndexError, OSError, EOFError, lzma.LZMAError, zlib.error):
                result = b""
            if result.startswith(ELF_MAGIC):
                return name, result
            start = image.find(magic, start + 1)
    return None, None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    image = open(sys.argv[1], "rb").read()
    name, vmlinux = extract(image)
    if vmlinux is None:
        sys.exit(f"extract-vmlinux: no gzip, xz, bzip2, lzma or lz4 payload holding an ELF "
                 f"image in {sys.argv[1]} (zstd payloads need the zstd tool)")
    with open(sys.argv[2], "wb") as out:
        out.write(vmlinux)
    print(f"extract-vmlinux: {name} payload, {len(vmlinux)} bytes of ELF vmlinux", file=sys.stderr)


if __name__ == "__main__":
    main()
