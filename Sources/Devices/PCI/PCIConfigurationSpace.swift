import CUAPI
import GuestMemory

/// The 256-byte configuration space of a PCI function with a type 0 header (PCI Local
/// Bus Specification 3.0, 6.1 "Configuration Space Organization"), register offsets
/// from the kernel's `pci_regs.h`.
///
/// Each byte has a mask of the bits software may write; everything else is read-only.
/// Base address registers fall out of the same rule: a BAR of size 2^n has its low n
/// bits read-only zero (and its 4 type bits fixed), so writing all ones and reading back
/// gives the size, as 6.2.5.1 "Address Maps" describes.
public struct PCIConfigurationSpace: Sendable, Equatable {
    public static let size = 256
    /// Memory BARs this model implements: 32-bit, non-prefetchable (type bits 0).
    public static let barCount = 6
    /// Capabilities start here, after the type 0 header.
    static let firstCapability = 0x40

    private var bytes: [UInt8]
    private var writable: [UInt8]
    /// Each BAR's size, 0 for a BAR the function does not implement.
    private var sizes = [UInt32](repeating: 0, count: barCount)
    private var lastCapability: Int? = nil
    private var nextCapability = firstCapability

    /// The header fields that say what the function is (PCI 3.0, 6.2.1 "Device
    /// Identification").
    public struct Identity: Sendable {
        public var vendorID: UInt16
        public var deviceID: UInt16
        public var revision: UInt8
        /// Class code: base class, subclass, programming interface (PCI 3.0, appendix D).
        public var classCode: (base: UInt8, subclass: UInt8, interface: UInt8)
        public var subsystemVendorID: UInt16 = 0
        public var subsystemID: UInt16 = 0

        /// An identity with the given IDs and class code.
        public init(vendorID: UInt16, deviceID: UInt16, revision: UInt8,
                    classCode: (base: UInt8, subclass: UInt8, interface: UInt8),
                    subsystemVendorID: UInt16 = 0, subsystemID: UInt16 = 0) {
            self.vendorID = vendorID
            self.deviceID = deviceID
            self.revision = revision
            self.classCode = classCode
            self.subsystemVendorID = subsystemVendorID
            self.subsystemID = subsystemID
        }
    }

    /// - Parameter interruptPin: 1 for INTA#, 0 for none; `interruptLine` is the IRQ
    ///   firmware would have written there (software may overwrite it).
    public init(_ identity: Identity, interruptPin: UInt8 = 0, interruptLine: UInt8 = 0) {
        bytes = [UInt8](repeating: 0, count: Self.size)
        writable = [UInt8](repeating: 0, count: Self.size)
        set16(Int(PCI_VENDOR_ID), identity.vendorID)
        set16(Int(PCI_DEVICE_ID), identity.deviceID)
        bytes[Int(PCI_REVISION_ID)] = identity.revision
        bytes[Int(PCI_CLASS_PROG)] = identity.classCode.interface
        bytes[Int(PCI_CLASS_DEVICE)] = identity.classCode.subclass
        bytes[Int(PCI_CLASS_DEVICE) + 1] = identity.classCode.base
        set16(Int(PCI_SUBSYSTEM_VENDOR_ID), identity.subsystemVendorID)
        set16(Int(PCI_SUBSYSTEM_ID), identity.subsystemID)
        bytes[Int(PCI_INTERRUPT_PIN)] = interruptPin
        bytes[Int(PCI_INTERRUPT_LINE)] = interruptLine
        // Command: I/O and memory decoding, bus mastering, INTx disable.
        let command = UInt16(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)
        writable[Int(PCI_COMMAND)] = UInt8(truncatingIfNeeded: command)
        writable[Int(PCI_COMMAND) + 1] = UInt8(truncatingIfNeeded: command >> 8)
        writable[Int(PCI_CACHE_LINE_SIZE)] = 0xff
        writable[Int(PCI_LATENCY_TIMER)] = 0xff
        writable[Int(PCI_INTERRUPT_LINE)] = 0xff
    }

    // MARK: Building

    /// Gives BAR `index` `size` bytes (a power of two, at least 16) of 32-bit memory space,
    /// assigned at `address` as firmware would have done.
    public mutating func addMemoryBAR(_ index: Int, size: UInt32, address: UInt32) {
        precondition(index < Self.barCount && size >= 16 && size.nonzeroBitCount == 1 && address % size == 0)
        sizes[index] = size
        let offset = Self.barOffset(index)
        set32(offset, address)
        writable.replaceSubrange(offset..<offset + 4, with: (~(size - 1)).littleEndianBytes)
    }

    /// Appends a capability (PCI 3.0, 6.7 "Capabilities List"): `body` follows the ID and
    /// next-pointer bytes, and `writableMask` (same length as `body`) says which of its
    /// bits software may write. Returns the capability's offset.
    @discardableResult
    public mutating func addCapability(id: UInt8, body: [UInt8], writableMask: [UInt8]? = nil) -> Int {
        let offset = nextCapability
        precondition(offset + 2 + body.count <= Self.size, "capabilities overflow configuration space")
        bytes[offset] = id
        bytes[offset + 1] = 0
        bytes.replaceSubrange(offset + 2..<offset + 2 + body.count, with: body)
        if let writableMask {
            writable.replaceSubrange(offset + 2..<offset + 2 + body.count, with: writableMask)
        }
        if let last = lastCapability { bytes[last + 1] = UInt8(offset) } else {
            bytes[Int(PCI_CAPABILITY_LIST)] = UInt8(offset)
            set16(Int(PCI_STATUS), get16(Int(PCI_STATUS)) | UInt16(PCI_STATUS_CAP_LIST))
        }
        lastCapability = offset
        nextCapability = (offset + 2 + body.count + 3) & ~3
        return offset
    }

    // MARK: Access

    /// Reads `size` (1, 2 or 4) bytes at `offset`; bytes past the space read as zero.
    public func read(offset: Int, size: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: PlainBytes.read(bytes, offset: UInt64(offset), size: size))
    }

    /// Writes the low `size` bytes of `value` at `offset`, bit by bit as the masks allow.
    public mutating func write(offset: Int, size: Int, value: UInt32) {
        for index in 0..<size where offset + index < Self.size {
            let byte = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))
            let mask = writable[offset + index]
            bytes[offset + index] = bytes[offset + index] & ~mask | byte & mask
        }
    }

    /// Sets bytes directly, whatever the masks say: for the device's own registers.
    public mutating func set16(_ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }

    /// Sets four bytes directly, little-endian, whatever the masks say.
    public mutating func set32(_ offset: Int, _ value: UInt32) {
        for byte in 0..<4 { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(byte))) }
    }

    /// The 16-bit register at `offset` (configuration space is little-endian, PCI 3.0, 6.1).
    public func get16(_ offset: Int) -> UInt16 { UInt16(read(offset: offset, size: 2)) }
    /// The 32-bit register at `offset`.
    public func get32(_ offset: Int) -> UInt32 { read(offset: offset, size: 4) }

    // MARK: Decoding

    static func barOffset(_ index: Int) -> Int { Int(PCI_BASE_ADDRESS_0) + 4 * index }

    public var command: UInt16 { get16(Int(PCI_COMMAND)) }

    /// Where BAR `index` currently answers: nil when it is not implemented, memory
    /// decoding is off, or it is unassigned (0) or mid-sizing (all ones).
    public func mapping(ofBAR index: Int) -> PCIBARMapping? {
        let size = sizes[index]
        guard size > 0, command & UInt16(PCI_COMMAND_MEMORY) != 0 else { return nil }
        let address = get32(Self.barOffset(index)) & ~(size - 1)
        guard address != 0, address != ~(size - 1) else { return nil }
        return PCIBARMapping(bar: index, address: UInt64(address), size: UInt64(size))
    }

    /// Every BAR that currently answers.
    public var mappings: [PCIBARMapping] { (0..<Self.barCount).compactMap { mapping(ofBAR: $0) } }

    /// The BARs this function implements and their sizes, placed or not.
    public var barSizes: [(bar: Int, size: UInt64)] {
        sizes.enumerated().compactMap { $0.element == 0 ? nil : ($0.offset, UInt64($0.element)) }
    }

    /// The BAR that answers at guest physical `address`, if one does. Every access to a
    /// BAR asks this: it builds no array.
    public func mapping(containing address: UInt64) -> PCIBARMapping? {
        for index in 0..<Self.barCount {
            if let mapping = mapping(ofBAR: index), mapping.contains(address) { return mapping }
        }
        return nil
    }
}

/// A memory BAR as it is placed in the guest's address space.
public struct PCIBARMapping: Sendable, Equatable {
    public let bar: Int
    public let address: UInt64
    public let size: UInt64

    func contains(_ physical: UInt64) -> Bool { physical >= address && physical - address < size }
}
