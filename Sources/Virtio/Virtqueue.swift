import CUAPI
import GuestMemory

/// A split virtqueue, as the device sees it (virtio v1.2, 2.7 "Split Virtqueues"):
/// the descriptor table, the available ring the driver fills, the used ring the device
/// fills, and the device's own position in each.
///
/// ```
///  descriptor table   16 bytes x size     le64 addr, le32 len, le16 flags, le16 next
///  available ring     le16 flags, le16 idx, le16 ring[size], le16 used_event
///  used ring          le16 flags, le16 idx, {le32 id, le32 len}[size], le16 avail_event
/// ```
///
/// The indices are free-running 16-bit counters; entry `i` of a ring is at `i % size`.
/// The driver writes the rings while the device reads them: the device loads each index
/// and flag once, atomically with acquire order, checks the copy, and stores its own
/// with release order (`GuestMemory.loadAcquiring`, `storeReleasing`).
public struct Virtqueue: Sendable, Equatable {
    /// The most entries this queue accepts ("Queue Size" maximum, 2.7: at most 32768).
    public let maximumSize: UInt16

    // Written by the driver through the transport, before the queue is enabled.
    public var size: UInt16
    public var descriptorTable = GuestAddress(0)
    public var availableRing = GuestAddress(0)
    public var usedRing = GuestAddress(0)
    /// Whether the driver enabled the queue (queue_enable, QueueReady).
    public var isReady = false

    // The device's position, and what was negotiated, set when the queue is enabled.
    /// The next available-ring entry the device will take ("last_avail_idx").
    public private(set) var nextAvailable: UInt16 = 0
    /// The used index the device last published.
    public private(set) var nextUsed: UInt16 = 0
    /// The used index at the last used-buffer notification decision (for EVENT_IDX).
    private var lastSignalledUsed: UInt16? = nil
    var eventIndex = false
    var indirectDescriptors = false

    /// A disabled queue of at most `maximumSize` entries, the size the driver starts from
    /// (virtio v1.2, 4.1.4.3 queue_size, 4.2.2 QueueNumMax).
    public init(maximumSize: UInt16) {
        self.maximumSize = maximumSize
        self.size = maximumSize
    }

    /// Back to the state after a device reset (2.4): disabled, default size, no rings.
    public mutating func reset() {
        self = Virtqueue(maximumSize: maximumSize)
    }

    // MARK: Ring geometry (2.7, "Virtqueue Part Alignment" and sizes)

    private var availableRingLength: UInt64 { 6 + 2 * UInt64(size) }
    private var usedRingLength: UInt64 { 6 + 8 * UInt64(size) }
    private func availableEntry(_ slot: UInt16) -> GuestAddress { GuestAddress(availableRing.rawValue + 4 + 2 * UInt64(slot)) }
    private var usedEventAddress: GuestAddress { GuestAddress(availableRing.rawValue + 4 + 2 * UInt64(size)) }
    private func usedEntry(_ slot: UInt16) -> GuestAddress { GuestAddress(usedRing.rawValue + 4 + 8 * UInt64(slot)) }
    private var availableEventAddress: GuestAddress { GuestAddress(usedRing.rawValue + 4 + 8 * UInt64(size)) }
    private var availableIndexAddress: GuestAddress { GuestAddress(availableRing.rawValue + 2) }
    private var usedIndexAddress: GuestAddress { GuestAddress(usedRing.rawValue + 2) }

    /// Checks the driver's configuration and arms the queue: the size is a power of two
    /// no larger than the maximum, each part lies in guest RAM at its alignment (16 for
    /// the table, 2 for the available ring, 4 for the used ring), and the used ring shares
    /// no byte with the other two.
    public mutating func activate(features: VirtioFeatures, memory: GuestMemory) throws(VirtqueueError) {
        guard size > 0, size <= maximumSize, size.nonzeroBitCount == 1 else { throw .invalidSize(size) }
        let parts: [(String, GuestAddress, UInt64, UInt64)] = [
            ("descriptor table", descriptorTable, DescriptorChain.descriptorSize * UInt64(size), 16),
            ("available ring", availableRing, availableRingLength, 2),
            ("used ring", usedRing, usedRingLength, 4),
        ]
        for (part, address, length, alignment) in parts {
            guard address.rawValue % alignment == 0, memory.contains(address, length: length) else {
                throw .ringOutsideRAM(part: part, address: address)
            }
        }
        // 2.7: "each part is write-able by either the driver or the device, but not both".
        // A used ring on the descriptor table or the available ring would have the device
        // write what the driver writes, and read back its own used elements as requests.
        // (Every part is in RAM, checked above: the ends cannot overflow.)
        let used = usedRing.rawValue..<usedRing.rawValue + usedRingLength
        for (part, address, length, _) in parts.dropLast() where used.overlaps(address.rawValue..<address.rawValue + length) {
            throw .ringsOverlap(part: part, usedRing: usedRing)
        }
        eventIndex = features.contains(.eventIndex)
        indirectDescriptors = features.contains(.indirectDescriptors)
        nextAvailable = 0
        nextUsed = 0
        lastSignalledUsed = nil
    }

    // MARK: The device's side of the rings

    /// Takes the next chain the driver made available, or nil if there is none.
    public mutating func popAvailable(memory: GuestMemory) throws(VirtqueueError) -> DescriptorChain? {
        let available = try Self.access { () throws(GuestMemoryError) in try memory.loadAcquiring(UInt16.self, at: availableIndexAddress) }
        let pending = available &- nextAvailable
        guard pending != 0 else { return nil }
        // 2.7.6: the driver adds at most `size` entries ahead of the device.
        guard pending <= size else { throw .availableIndexJumped(from: nextAvailable, to: available) }
        let head = try Self.access { () throws(GuestMemoryError) in
            try memory.read(UInt16.self, at: availableEntry(nextAvailable % size))
        }
        guard head < size else { throw .descriptorIndexOutOfRange(head) }
        let chain = try DescriptorChain.walk(
            head: head, table: descriptorTable, queueSize: size,
            indirectAllowed: indirectDescriptors, memory: memory)
        nextAvailable &+= 1
        return chain
    }

    /// Returns a chain to the driver with `length` bytes written into it (2.7.8).
    public mutating func pushUsed(head: UInt16, length: UInt32, memory: GuestMemory) throws(VirtqueueError) {
        let element = vring_used_elem(id: UInt32(head), len: length)
        let slot = usedEntry(nextUsed % size), index = usedIndexAddress, published = nextUsed &+ 1
        try Self.access { () throws(GuestMemoryError) in
            try memory.writeValue(element, at: slot)
            // Release: the element is visible before the index that publishes it.
            try memory.storeReleasing(published, at: index)
        }
        nextUsed = published
    }

    /// Whether the driver wants a used-buffer notification for what was pushed since the
    /// last time this was asked (2.7.7.2): with EVENT_IDX, when the used index passed
    /// `used_event`; without, unless VIRTQ_AVAIL_F_NO_INTERRUPT is set.
    public mutating func needsNotification(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        // The used index must be visible before the driver's suppression field is read.
        memory.fullFence()
        if eventIndex {
            let event = try Self.access { () throws(GuestMemoryError) in try memory.loadAcquiring(UInt16.self, at: usedEventAddress) }
            let new = nextUsed
            defer { lastSignalledUsed = new }
            guard let old = lastSignalledUsed else { return true }
            // vring_need_event(): did the index step over `used_event` in (old, new]?
            return new &- event &- 1 < new &- old
        }
        let flags = try Self.access { () throws(GuestMemoryError) in try memory.loadAcquiring(UInt16.self, at: GuestAddress(availableRing.rawValue)) }
        return flags & UInt16(VRING_AVAIL_F_NO_INTERRUPT) == 0
    }

    /// With EVENT_IDX, asks the driver to notify once it makes entry `nextAvailable`
    /// available (writes `avail_event`), then reports whether entries arrived meanwhile:
    /// the device must look again before it sleeps, or it could miss them (2.7.10).
    public mutating func armAvailableNotification(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        guard eventIndex else { return false }
        return try Self.access { () throws(GuestMemoryError) in
            try memory.storeReleasing(nextAvailable, at: availableEventAddress)
            memory.fullFence()
            return try memory.loadAcquiring(UInt16.self, at: availableIndexAddress) != nextAvailable
        }
    }

    private static func access<T>(_ body: () throws(GuestMemoryError) -> T) throws(VirtqueueError) -> T {
        do { return try body() } catch { throw .memory(error) }
    }
}
