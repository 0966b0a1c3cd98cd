#!/usr/bin/env bash
# Builds the test guest: testguest.elf (an ELF image, like vmlinux), testguest.img (the
# same code behind a bzImage header), and the copy of testguest.elf in
# Sources/CDemoGuest, which swiftvmm assembles in as its demo guest (demo_guest.S).
#
#   guest-images/testguest/build.sh [OUTPUT_DIR]
#
# With OUTPUT_DIR, writes the three files there instead, the copy as demo-testguest.elf
# (check.sh uses this). Uses the
# Swift toolchain's clang, ld.lld and llvm-objcopy, so the bytes are the same wherever
# that toolchain is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-}
elf_out=${out:-$here}/testguest.elf
img_out=${out:-$here}/testguest.img
demo_out=${out:+$out/demo-testguest.elf}
demo_out=${demo_out:-$root/Sources/CDemoGuest/testguest.elf}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in clang ld.lld llvm-objcopy python3; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (it ships with the Swift toolchain; python3 with Debian)" >&2; exit 1; }
done

# Integer-only, freestanding code: KVM's instruction emulator, which runs guests on
# hosts without VT-x/AMD-V, has no SSE, x87 or xsave.
cflags=(
    --target=x86_64-unknown-none-elf -ffreestanding -nostdlib -fno-builtin
    -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone
    -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
    -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables
    -Os -Wall -Wextra -Werror
)
cd "$here"
clang "${cflags[@]}" -c start.S -o "$work/start.o"
objects=("$work/start.o")
for source in main.c console.c bench.c acpi.c smp.c trampoline.S pci.c virtio.c virtio_pci.c virtio_mmio.c blk.c diskbench.c flushbench.c hostile.c scramble.c faults.c keyboard.c vsock.c net.c netbench.c rng.c; do
    clang "${cflags[@]}" -c "$source" -o "$work/${source%.*}.o"
    objects+=("$work/${source%.*}.o")
done
ld.lld -T link.ld --build-id=none -nostdlib -static --strip-all -o "$work/testguest.elf" "${objects[@]}"
llvm-objcopy -O binary "$work/testguest.elf" "$work/payload.bin"
# The bzImage's real-mode stub, linked at its offset in the setup area (0x26c).
clang "${cflags[@]}" -c setup.S -o "$work/setup.o"
ld.lld --build-id=none -nostdlib -static --image-base=0 -Ttext=0x26c -e setup_entry -o "$work/setup.elf" "$work/setup.o"
llvm-objcopy -O binary "$work/setup.elf" "$work/setup.bin"
python3 bzimage.py "$work/testguest.elf" "$work/payload.bin" "$work/setup.bin" "$work/testguest.img"

cp "$work/testguest.elf" "$elf_out"
cp "$work/testguest.img" "$img_out"
cp "$work/testguest.elf" "$demo_out"
# SwiftPM tracks demo_guest.S, not the image its .incbin names: touched, the next build
# assembles the new image in.
[ -n "${out:-}" ] || touch "$root/Sources/CDemoGuest/demo_guest.S"
echo "build.sh: $(stat -c %s "$elf_out") bytes ELF, $(stat -c %s "$img_out") bytes bzImage" >&2
