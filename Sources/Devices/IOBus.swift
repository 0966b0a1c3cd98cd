/// An address space of devices: the x86 I/O port space, or the MMIO hole.
///
/// Devices are registered while the machine is built; after that the bus is read-only
/// and is shared by every vCPU thread without a lock of its own: each device keeps its
/// own state consistent (`SharedBusDevice`), most behind the mutex of a `DeviceSlot`.
public struct IOBus: Sendable {
    /// Where a device answers: [base, base + length).
    public struct Range: Sendable, Equatable, CustomStringConvertible {
        public let base: UInt64
        public let length: UInt64

        /// The range [`base`, `base + length`).
        public init(base: UInt64, length: UInt64) {
            self.base = base
            self.length = length
        }

        func contains(_ address: UInt64) -> Bool {
            address >= base && address - base < length
        }

        func overlaps(_ other: Range) -> Bool {
            base < other.base + other.length && other.base < base + length
        }

        public var description: String {
            "0x\(String(base, radix: 16))-0x\(String(base + length - 1, radix: 16))"
        }
    }

    /// Registering two devices at overlapping ranges is a bug in the machine builder.
    public struct OverlapError: Error, CustomStringConvertible {
        public let name: String
        public let range: Range
        public let existing: String
        public var description: String { "\(name) at \(range) overlaps \(existing)" }
    }

    private struct Entry: Sendable {
        let range: Range
        /// The device offset that `range.base` reaches.
        let offset: UInt64
        let device: any SharedBusDevice

        func deviceOffset(of address: UInt64) -> UInt64 { offset + (address - range.base) }
    }

    /// Entries sorted by base address.
    private var entries: [Entry] = []
    /// Their ranges, in the same order: what a lookup scans, plain integers (see
    /// docs/PERFORMANCE.md, figure 1).
    private var ranges: [Range] = []

    /// A bus with no devices.
    public init() {}

    /// Places `device` at `range` behind a lock of its own and returns its slot, through
    /// which other threads may reach the same device under the same lock.
    @discardableResult
    public mutating func register<Device: BusDevice>(
        _ device: Device, at range: Range
    ) throws(OverlapError) -> DeviceSlot<Device> {
        let slot = DeviceSlot(device)
        try register(slot, at: range)
        return slot
    }

    /// Places a device that serializes its own accesses (a slot, a virtio transport) at
    /// `range`; one device may answer at several ranges.
    ///
    /// An access at `range.base` reaches the device at `offset`: a device whose ports are
    /// scattered sees them as one register map. The i8042, say, answers at ports 0x60
    /// and 0x64, registered as offsets 0 and 4.
    public mutating func register(
        _ device: some SharedBusDevice, at range: Range, offset: UInt64 = 0
    ) throws(OverlapError) {
        precondition(range.length > 0, "a device range cannot be empty")
        if let clash = entries.first(where: { $0.range.overlaps(range) }) {
            throw OverlapError(name: device.name, range: range, existing: clash.device.name)
        }
        entries.append(Entry(range: range, offset: offset, device: device))
        entries.sort { $0.range.base < $1.range.base }
        ranges = entries.map(\.range)
    }

    private func entry(at address: UInt64) -> Entry? {
        guard let index = ranges.firstIndex(where: { $0.contains(address) }) else { return nil }
        return entries[index]
    }

    /// The name of the device that answers at `address`, if any (see
    /// `BusDevice.deviceName(at:)`).
    public func deviceName(at address: UInt64) -> String? {
        guard let entry = entry(at: address) else { return nil }
        return entry.device.deviceName(at: entry.deviceOffset(of: address))
    }

    /// Reads from the device at `address`; nil when no device answers there.
    public func read(at address: UInt64, size: Int) -> UInt64? {
        guard let entry = entry(at: address) else { return nil }
        return entry.device.read(offset: entry.deviceOffset(of: address), size: size)
    }

    /// Writes to the device at `address`; nil when no device answers there.
    public func write(at address: UInt64, size: Int, value: UInt64) -> DeviceEffect? {
        guard let entry = entry(at: address) else { return nil }
        return entry.device.write(offset: entry.deviceOffset(of: address), size: size, value: value)
    }
}
