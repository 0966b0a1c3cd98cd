/// The resource descriptors a DSDT's `_CRS` lists (ACPI 6.5, 6.4 "Resource Data Types
/// for ACPI"). Small items have a one-byte tag (bit 7 clear, item name in bits 6-3,
/// length in bits 2-0); large items a tag byte with bit 7 set and a 16-bit length.
public enum ResourceDescriptor: Sendable, Equatable {
    /// `IO(Decode16, base, base, alignment, length)`: fixed ports (6.4.2.5, "I/O Port
    /// Descriptor").
    case ioPorts(base: UInt16, length: UInt8, alignment: UInt8 = 1)
    /// `IRQNoFlags() { irq }`: an ISA interrupt, edge-triggered, active high (6.4.2.1,
    /// "IRQ Descriptor").
    case isaIRQ(UInt8)
    /// `Memory32Fixed(ReadWrite, base, length)` (6.4.3.4, "32-Bit Fixed Memory Range
    /// Descriptor").
    case memory32Fixed(base: UInt32, length: UInt32)
    /// `Interrupt(ResourceConsumer, trigger, ActiveHigh, Exclusive) { gsi }` (6.4.3.6,
    /// "Extended Interrupt Descriptor").
    case interrupt(gsi: UInt32, trigger: InterruptTrigger)
    /// `WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, ...)`: the bus
    /// numbers a host bridge decodes (6.4.3.5.3, "Word Address Space Descriptor").
    case busNumbers(ClosedRange<UInt16>)
    /// `WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ...)`: a port
    /// window a host bridge forwards (6.4.3.5.3).
    case ioWindow(ClosedRange<UInt16>)
    /// `DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
    /// ReadWrite, ...)`: a memory window a host bridge forwards (6.4.3.5.2, "DWord
    /// Address Space Descriptor").
    case memoryWindow(ClosedRange<UInt32>)

    /// How an interrupt is signalled: an edge, or a level held until serviced (ACPI 6.5,
    /// 6.4.3.6 "Extended Interrupt Descriptor").
    public enum InterruptTrigger: Sendable, Equatable {
        case edge
        case level
    }

    /// Tags and fields, named as in ACPI 6.5, 6.4.
    enum Tag {
        static let irqNoFlags: UInt8 = 0x22  // small item 0x04, length 2
        static let ioPort: UInt8 = 0x47  // small item 0x08, length 7
        static let endTag: UInt8 = 0x79  // small item 0x0f, length 1
        static let memory32Fixed: UInt8 = 0x86
        static let dwordAddressSpace: UInt8 = 0x87
        static let wordAddressSpace: UInt8 = 0x88
        static let extendedInterrupt: UInt8 = 0x89
    }

    /// Address space descriptors: the resource type (byte 3).
    enum ResourceType {
        static let memory: UInt8 = 0
        static let io: UInt8 = 1
        static let busNumber: UInt8 = 2
    }

    /// General flags (byte 4): _MAF and _MIF (max and min fixed), _DEC = 0 (positive
    /// decode), bit 0 = 0 (this device produces the resource: a bridge's window).
    static let producerFixedRange: UInt8 = 0x0c
    /// Type-specific flags (byte 5): memory read-write, non-cacheable; I/O entire range.
    static let memoryReadWrite: UInt8 = 0x01
    static let ioEntireRange: UInt8 = 0x03
    /// I/O port descriptor information: decodes 16 address bits.
    static let decode16: UInt8 = 0x01
    /// Memory32Fixed information: read-write.
    static let readWrite: UInt8 = 0x01
    /// Extended interrupt flags: bit 0 consumer, bit 1 edge (clear: level), bit 2 active
    /// low (clear: active high), bit 3 shared (clear: exclusive).
    static let interruptConsumer: UInt8 = 0x01
    static let interruptEdge: UInt8 = 0x02

    /// The end tag with a zero checksum, which "the resource data is treated as if the
    /// checksum operation succeeded" (6.4.2.9, "End Tag").
    static let endTag: [UInt8] = [Tag.endTag, 0]

    public var bytes: [UInt8] {
        switch self {
        case .ioPorts(let base, let length, let alignment):
            return [Tag.ioPort, Self.decode16] + base.littleEndianBytes + base.littleEndianBytes + [alignment, length]
        case .isaIRQ(let irq):
            precondition(irq < 16, "ISA IRQs are 0-15")
            return [Tag.irqNoFlags] + (UInt16(1) << irq).littleEndianBytes
        case .memory32Fixed(let base, let length):
            return Self.large(Tag.memory32Fixed, [Self.readWrite] + base.littleEndianBytes + length.littleEndianBytes)
        case .interrupt(let gsi, let trigger):
            let flags = Self.interruptConsumer | (trigger == .edge ? Self.interruptEdge : 0)
            return Self.large(Tag.extendedInterrupt, [flags, 1] + gsi.littleEndianBytes)
        case .busNumbers(let range):
            return Self.wordAddressSpace(ResourceType.busNumber, typeFlags: 0, range)
        case .ioWindow(let range):
            return Self.wordAddressSpace(ResourceType.io, typeFlags: Self.ioEntireRange, range)
        case .memoryWindow(let range):
            let length = UInt32(range.upperBound - range.lowerBound) + 1
            let body: [UInt8] = [ResourceType.memory, Self.producerFixedRange, Self.memoryReadWrite]
                + UInt32(0).littleEndianBytes + range.lowerBound.littleEndianBytes + range.upperBound.littleEndianBytes + UInt32(0).littleEndianBytes + length.littleEndianBytes
            return Self.large(Tag.dwordAddressSpace, body)
        }
    }

    /// Granularity 0, minimum, maximum, translation 0, length (all 16-bit).
    private static func wordAddressSpace(_ type: UInt8, typeFlags: UInt8, _ range: ClosedRange<UInt16>) -> [UInt8] {
        let length = UInt16(range.upperBound - range.lowerBound) &+ 1
        let body: [UInt8] = [type, producerFixedRange, typeFlags]
            + UInt16(0).littleEndianBytes + range.lowerBound.littleEndianBytes + range.upperBound.littleEndianBytes + UInt16(0).littleEndianBytes + length.littleEndianBytes
        return large(Tag.wordAddressSpace, body)
    }

    private static func large(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] {
        [tag] + UInt16(body.count).littleEndianBytes + body
    }
}

