import Devices
import GuestMemory
import Virtio

/// virtio-pci as a guest reaches it: configuration mechanism #1 (ports 0xcf8-0xcff) into
/// the configuration spaces of the host bridge (00:00.0) and a virtio-blk function
/// (00:01.0), and the PCI memory window where its BAR holds the common configuration,
/// ISR, device configuration, notification and MSI-X structures (virtio v1.2, 4.1).
/// Guest memory writes go between the accesses, so rings can be built.
///
/// Invariants: reads fit their size; the read-only identity of both functions (vendor,
/// device, class) never changes, whatever is written; the disk sees only checked
/// transfers (`CheckedDisk`).
enum VirtioPCITarget: FuzzTarget {
    static let name = "virtio-pci"
    static let configurationAddress: UInt64 = 0xcf8
    static let windowBase = Layout.pciMMIOWindow.rawValue
    static let windowSize = Layout.pciMMIOWindowSize

    enum Operation: UInt8 {
        case portRead, portWrite, windowRead, windowWrite, memory
    }

    struct Machine {
        var ports = IOBus()
        var window = IOBus()
        let bridge: DeviceSlot<PCIHostBridge>
        let disk: VirtioPCIFunction
    }

    static func machine(memory: GuestMemory, readOnly: Bool) -> Machine {
        let bridge = DeviceSlot(PCIHostBridge())
        let disk = VirtioPCIFunction(
            VirtioBlock(name: "fuzz", backend: CheckedDisk(sectors: 16, readOnly: readOnly), readOnly: readOnly),
            memory: memory, barAddress: UInt32(windowBase), interruptLine: 16,
            intx: CheckedLine(onlyChanges: false), messages: DiscardedMessages())
        let bus = PCIBus(functions: [0: bridge, 1: disk])
        var machine = Machine(bridge: bridge, disk: disk)
        do {
            try machine.ports.register(PCIConfigMechanism1(bus: bus), at: IOBus.Range(base: configurationAddress, length: PCIConfigMechanism1.portCount))
            try machine.window.register(PCIMMIOWindow(bus: bus, base: windowBase), at: IOBus.Range(base: windowBase, length: windowSize))
        } catch {
            fatalError("cannot place the PCI bus: \(error)")
        }
        return machine
    }

    /// Enough for a driver's whole conversation; more only slows the fuzzer.
    static let maximumOperations = 512

    static func run(_ bytes: [UInt8]) { _ = machine(after: bytes) }

    /// Runs `bytes` and returns the machine as they left it.
    static func machine(after bytes: [UInt8]) -> Machine {
        var input = FuzzInput(bytes)
        let memory = FuzzMemory.fresh()
        let machine = machine(memory: memory, readOnly: input.bool())
        let identities = (bridge: identity(machine.bridge), disk: identity(machine.disk))
        for _ in 0..<maximumOperations where !input.isEmpty {
            switch Operation(rawValue: input.byte() % 5)! {
            case .portRead:
                let port = configurationAddress + UInt64(input.byte() % 8), size = input.accessSize(maximum: 4)
                if let value = machine.ports.read(at: port, size: size) {
                    require(value >> (8 * UInt64(size)) == 0, "a \(size)-byte port read fits")
                }
            case .portWrite:
                let port = configurationAddress + UInt64(input.byte() % 8), size = input.accessSize(maximum: 4)
                _ = machine.ports.write(at: port, size: size, value: UInt64(input.integer(UInt32.self)))
            case .windowRead:
                let address = windowBase + UInt64(input.integer(UInt32.self)) % windowSize, size = input.accessSize()
                if let value = machine.window.read(at: address, size: size) {
                    require(size == 8 || value >> (8 * UInt64(size)) == 0, "a \(size)-byte read fits")
                }
            case .windowWrite:
                let address = windowBase + UInt64(input.integer(UInt32.self)) % windowSize, size = input.accessSize()
                _ = machine.window.write(at: address, size: size, value: input.integer(UInt64.self))
            case .memory:
                let address = GuestAddress(UInt64(input.integer(UInt16.self)))
                try? memory.write(bytes: input.bytes(Int(input.integer(UInt16.self))), at: address)
            }
        }
        require(identity(machine.bridge) == identities.bridge, "the host bridge's identity is read-only")
        require(identity(machine.disk) == identities.disk, "the disk function's identity is read-only")
        return machine
    }

    /// Vendor and device ID (bytes 0-3), revision and class code (bytes 8-11).
    static func identity(_ function: any SharedPCIFunction) -> [UInt64] {
        [0, 8].map { function.readConfiguration(offset: $0, size: 4) }
    }

    // MARK: Seeds

    /// Firmware's and a driver's conversation: find 00:01.0's IDs, enable memory decoding
    /// and bus mastering, then drive the common configuration in BAR 0 through device
    /// initialization and queue 0 set-up at the rings of `RingSeed`, place the requests,
    /// notify the queue and read the ISR.
    static var seeds: [[UInt8]] {
        var builder = FuzzInputBuilder()
        builder.bool(false)
        func configWrite(device: UInt32, register: UInt32, size: Int, _ value: UInt32) {
            builder.choice(Int(Operation.portWrite.rawValue)); builder.byte(0); builder.accessSize(4, maximum: 4)
            builder.integer(0x8000_0000 | device << 11 | register & 0xfc)
            builder.choice(Int(Operation.portWrite.rawValue)); builder.byte(4 + UInt8(register & 3)); builder.accessSize(size, maximum: 4)
            builder.integer(value)
        }
        func configRead(device: UInt32, register: UInt32) {
            builder.choice(Int(Operation.portWrite.rawValue)); builder.byte(0); builder.accessSize(4, maximum: 4)
            builder.integer(0x8000_0000 | device << 11 | register)
            builder.choice(Int(Operation.portRead.rawValue)); builder.byte(4); builder.accessSize(4, maximum: 4)
        }
        func bar(_ offset: UInt32, size: Int, _ value: UInt64) {
            builder.choice(Int(Operation.windowWrite.rawValue)); builder.integer(offset); builder.accessSize(size)
            builder.integer(value)
        }
        func barRead(_ offset: UInt32, size: Int) {
            builder.choice(Int(Operation.windowRead.rawValue)); builder.integer(offset); builder.accessSize(size)
        }
        configRead(device: 0, register: 0)
        configRead(device: 1, register: 0)
        configRead(device: 1, register: 0x10)  // BAR 0
        configWrite(device: 1, register: 0x04, size: 2, 0x6)  // Command: memory space, bus master
        let common = UInt32(VirtioPCILayout.commonOffset)
        bar(common + 0x14, size: 1, 0)  // device_status: reset
        bar(common + 0x14, size: 1, 1)
        bar(common + 0x14, size: 1, 3)
        bar(common + 0x08, size: 4, 1)  // driver_feature_select: bits 32-63
        bar(common + 0x0c, size: 4, 1)  // VIRTIO_F_VERSION_1
        bar(common + 0x08, size: 4, 0)
        bar(common + 0x0c, size: 4, 1 << 28 | 1 << 29 | 1 << 9)
        bar(common + 0x14, size: 1, 0xb)  // FEATURES_OK
        bar(common + 0x16, size: 2, 0)  // queue_select
        bar(common + 0x18, size: 2, UInt64(RingSeed.queueSize))
        bar(common + 0x20, size: 8, UInt64(RingSeed.table))
        bar(common + 0x28, size: 8, UInt64(RingSeed.available))
        bar(common + 0x30, size: 8, UInt64(RingSeed.used))
        bar(common + 0x1c, size: 2, 1)  // queue_enable
        bar(common + 0x14, size: 1, 0xf)  // DRIVER_OK
        let image = RingSeed.memory.bytes
        builder.choice(Int(Operation.memory.rawValue)); builder.integer(UInt16(0)); builder.integer(UInt16(image.count))
        builder.append(image)
        bar(UInt32(VirtioPCILayout.notifyAddress(queue: 0)), size: 2, 0)
        barRead(UInt32(VirtioPCILayout.isrOffset), size: 1)
        barRead(UInt32(VirtioPCILayout.deviceOffset), size: 8)  // capacity
        return [builder.bytes]
    }
}
