import GuestMemory
import CUAPI

/// A message-signalled interrupt: `data` written to `address` (on x86, an address in
/// 0xfee00000-0xfeefffff naming the destination local APIC, and data holding the vector;
/// Intel SDM vol. 3A, 11.11 "Message Signalled Interrupts").
public struct MSIMessage: Sendable, Hashable {
    public let address: UInt64
    public let data: UInt32

    /// The message that writes `data` to `address`.
    public init(address: UInt64, data: UInt32) {
        self.address = address
        self.data = data
    }
}

/// Sends message-signalled interrupts into the guest. The machine provides it
/// (KVM_SIGNAL_MSI, or an irqfd on a routed GSI); tests provide a recorder.
public protocol MSIDelivery: Sendable {
    /// Performs the message's write: the interrupt it names reaches the guest's local APIC.
    func deliver(_ message: MSIMessage)
}

/// An MSI-X table and pending bit array (PCI Local Bus Specification 3.0, 6.8.2
/// "MSI-X Capability and Table Structure"), and the capability that describes them.
///
/// Each vector has a message address, data and a mask bit. A vector signalled while
/// masked (or while the whole function is masked) sets its pending bit instead, and is
/// sent when unmasked (6.8.2.9).
public struct MSIXTable: Sendable, Equatable {
    /// One table entry: Message Address, Message Data and Vector Control (6.8.2.6-6.8.2.9).
    public struct Entry: Sendable, Equatable {
        public var address: UInt64 = 0
        public var data: UInt32 = 0
        /// Vector Control bit 0; every vector starts masked (6.8.2.9).
        public var isMasked = true
    }

    /// Bytes per table entry (PCI_MSIX_ENTRY_SIZE).
    public static let entrySize = UInt64(PCI_MSIX_ENTRY_SIZE)

    public private(set) var entries: [Entry]
    public private(set) var pending: [Bool]
    /// Message Control: MSI-X Enable and Function Mask, as the capability holds them.
    public var isEnabled = false
    public var isFunctionMasked = false

    /// A table of `vectors` entries (1 to 2048, 6.8.2.3), each masked, none pending, MSI-X off.
    public init(vectors: Int) {
        precondition((1...2048).contains(vectors))
        entries = [Entry](repeating: Entry(), count: vectors)
        pending = [Bool](repeating: false, count: vectors)
    }

    /// Vectors in the table.
    public var vectorCount: Int { entries.count }
    /// Bytes the table occupies in its BAR.
    public var tableSize: UInt64 { UInt64(entries.count) * Self.entrySize }

    /// The capability's body after its ID and next pointer: Message Control, then Table
    /// and PBA offsets with their BAR indicator in the low 3 bits; and its writable mask
    /// (only Function Mask and Enable, bits 14 and 15 of Message Control).
    public static func capability(vectors: Int, bar: Int, tableOffset: UInt32, pendingOffset: UInt32) -> (body: [UInt8], writable: [UInt8]) {
        let control = UInt16(vectors - 1)
        let table = tableOffset | UInt32(bar), pba = pendingOffset | UInt32(bar)
        let body = control.littleEndianBytes + table.littleEndianBytes + pba.littleEndianBytes
        let controlMask = UInt16(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)
        return (body, controlMask.littleEndianBytes + [UInt8](repeating: 0, count: 8))
    }

    // MARK: Table and PBA access (4- or 8-byte, aligned; anything else reads 0, writes nothing)

    /// Reads the table with an aligned 4- or 8-byte access (6.8.2: software uses only
    /// those); anything else reads 0.
    public func readTable(offset: UInt64, size: Int) -> UInt64 {
        guard let (index, field) = locate(offset, size) else { return 0 }
        let entry = entries[index]
        let words: [UInt32] = [
            UInt32(truncatingIfNeeded: entry.address), UInt32(truncatingIfNeeded: entry.address >> 32),
            entry.data, entry.isMasked ? UInt32(PCI_MSIX_ENTRY_CTRL_MASKBIT) : 0,
        ]
        let low = UInt64(words[field])
        return size == 8 ? low | UInt64(words[field + 1]) << 32 : low
    }

    /// Writes the table; returns the messages of vectors this write unmasked while they
    /// were pending, which the caller must now send.
    public mutating func writeTable(offset: UInt64, size: Int, value: UInt64) -> [MSIMessage] {
        guard let (index, field) = locate(offset, size) else { return [] }
        let words = size == 8 ? [UInt32(truncatingIfNeeded: value), UInt32(truncatingIfNeeded: value >> 32)] : [UInt32(truncatingIfNeeded: value)]
        for (step, word) in words.enumerated() {
            switch field + step {
            case 0: entries[index].address = entries[index].address & 0xffff_ffff_0000_0000 | UInt64(word)
            case 1: entries[index].address = entries[index].address & 0xffff_ffff | UInt64(word) << 32
            case 2: entries[index].data = word
            default: entries[index].isMasked = word & UInt32(PCI_MSIX_ENTRY_CTRL_MASKBIT) != 0
            }
        }
        return releasePending()
    }

    /// Reads the Pending Bit Array: bit n is vector n (6.8.2.10). It is read-only.
    public func readPendingArray(offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for bit in 0..<(8 * size) {
            let (vector, overflow) = (offset * 8).addingReportingOverflow(UInt64(bit))
            if !overflow, vector < UInt64(pending.count), pending[Int(vector)] { value |= 1 << UInt64(bit) }
        }
        return value
    }

    private func locate(_ offset: UInt64, _ size: Int) -> (Int, Int)? {
        guard size == 4 || size == 8, offset % UInt64(size) == 0, offset < tableSize else { return nil }
        return (Int(offset / Self.entrySize), Int(offset % Self.entrySize) / 4)
    }

    // MARK: Signalling

    /// Signals `vector`: returns its message if it may be sent now, or records it as
    /// pending and returns nil. A vector past the table's end is dropped.
    public mutating func signal(_ vector: Int) -> MSIMessage? {
        guard entries.indices.contains(vector) else { return nil }
        if isFunctionMasked || entries[vector].isMasked {
            pending[vector] = true
            return nil
        }
        return MSIMessage(address: entries[vector].address, data: entries[vector].data)
    }

    /// Sends what became deliverable: pending vectors no longer masked.
    public mutating func releasePending() -> [MSIMessage] {
        guard isEnabled, !isFunctionMasked else { return [] }
        var messages: [MSIMessage] = []
        for vector in entries.indices where pending[vector] && !entries[vector].isMasked {
            pending[vector] = false
            messages.append(MSIMessage(address: entries[vector].address, data: entries[vector].data))
        }
        return messages
    }

    /// Back to the state after a function reset: every vector masked, none pending.
    public mutating func reset() { self = MSIXTable(vectors: entries.count) }
}
