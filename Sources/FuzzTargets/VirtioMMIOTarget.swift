import GuestMemory
import Virtio

/// The virtio-mmio register file (virtio v1.2, 4.2.2) of a virtio-blk device: any
/// sequence of register and configuration-space accesses of any size, interleaved with
/// writes of arbitrary bytes into guest memory (where the driver puts its rings).
///
/// Invariants: MagicValue and Version always read "virt" and 2; a read fits in its
/// size; whatever the rings hold, the disk sees only checked transfers (`CheckedDisk`).
enum VirtioMMIOTarget: FuzzTarget {
    static let name = "virtio-mmio"
    /// The registers and the start of the configuration space (0x100).
    static let window: UInt16 = 0x200
    static let magicOffset: UInt64 = 0x000
    static let versionOffset: UInt64 = 0x004

    enum Operation: UInt8 {
        case read, write, memory
    }

    /// Enough for a driver's whole conversation; more only slows the fuzzer.
    static let maximumOperations = 512

    static func run(_ bytes: [UInt8]) { _ = device(after: bytes) }

    /// Runs `bytes` and returns the device as they left it.
    static func device(after bytes: [UInt8]) -> VirtioMMIODevice {
        var input = FuzzInput(bytes)
        let memory = FuzzMemory.fresh()
        let readOnly = input.bool()
        let device = VirtioMMIODevice(
            VirtioBlock(name: "fuzz", backend: CheckedDisk(sectors: 16, readOnly: readOnly), readOnly: readOnly),
            memory: memory, interrupt: CheckedLine(onlyChanges: false))
        for _ in 0..<maximumOperations where !input.isEmpty {
            switch Operation(rawValue: input.byte() % 3)! {
            case .read:
                let offset = UInt64(input.integer(UInt16.self) % window), size = input.accessSize()
                let value = device.read(offset: offset, size: size)
                require(size == 8 || value >> (8 * UInt64(size)) == 0, "a \(size)-byte read fits")
            case .write:
                let offset = UInt64(input.integer(UInt16.self) % window), size = input.accessSize()
                _ = device.write(offset: offset, size: size, value: UInt64(input.integer(UInt32.self)))
            case .memory:
                let address = GuestAddress(UInt64(input.integer(UInt16.self)))
                let chunk = input.bytes(Int(input.integer(UInt16.self)))
                try? memory.write(bytes: chunk, at: address)
            }
            require(device.read(offset: magicOffset, size: 4) == UInt64(VirtioMMIODevice.magicValue), "MagicValue")
            require(device.read(offset: versionOffset, size: 4) == UInt64(VirtioMMIODevice.version), "Version")
        }
        return device
    }

    // MARK: Seeds

    /// A driver's whole conversation: reset, status steps, features, queue 0 set up at the
    /// rings of `RingSeed`, DRIVER_OK, the requests placed, the queue notified, the
    /// interrupt acknowledged.
    static var seeds: [[UInt8]] {
        var builder = FuzzInputBuilder()
        builder.bool(false)  // read-write disk
        func write(_ offset: UInt16, _ value: UInt32) {
            builder.choice(Int(Operation.write.rawValue))
            builder.integer(offset)
            builder.accessSize(4)
            builder.integer(value)
        }
        func read(_ offset: UInt16) {
            builder.choice(Int(Operation.read.rawValue))
            builder.integer(offset)
            builder.accessSize(4)
        }
        write(0x070, 0)  // Status: reset
        write(0x070, 1)  // ACKNOWLEDGE
        write(0x070, 3)  // DRIVER
        read(0x010)  // DeviceFeatures
        write(0x024, 1)  // DriverFeaturesSel: bits 32-63
        write(0x020, 1)  // VIRTIO_F_VERSION_1
        write(0x024, 0)
        write(0x020, 1 << 28 | 1 << 29 | 1 << 9)  // INDIRECT_DESC, EVENT_IDX, FLUSH
        write(0x070, 0xb)  // FEATURES_OK
        read(0x070)
        write(0x030, 0)  // QueueSel
        read(0x034)  // QueueNumMax
        write(0x038, UInt32(RingSeed.queueSize))
        write(0x080, UInt32(RingSeed.table))
        write(0x090, UInt32(RingSeed.available))
        write(0x0a0, UInt32(RingSeed.used))
        write(0x044, 1)  // QueueReady
        write(0x070, 0xf)  // DRIVER_OK
        let image = RingSeed.memory.bytes
        builder.choice(Int(Operation.memory.rawValue))
        builder.integer(UInt16(0))
        builder.integer(UInt16(image.count))
        builder.append(image)
        write(0x050, 0)  // QueueNotify
        read(0x060)  // InterruptStatus
        write(0x064, 1)  // InterruptACK
        read(0x100)  // capacity
        return [builder.bytes]
    }
}
