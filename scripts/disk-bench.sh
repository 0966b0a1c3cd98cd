#!/usr/bin/env bash
# The virtio-blk benchmark alone: figure 4 of scripts/bench.sh (docs/PERFORMANCE.md).
# The test guest reads and writes a 256 MiB image in 1 MiB and 4 KiB requests, at queue
# depth 1 and the deepest its driver keeps, on SwiftVMM over both transports with
# io=vcpu and io=thread, on QEMU's virtio-blk, and the host's dd does the same.
#
#   scripts/disk-bench.sh [--quick] [bench.sh options]
exec "$(dirname "$0")/bench.sh" --only disk "$@"
