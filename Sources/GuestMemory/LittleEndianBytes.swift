extension FixedWidthInteger {
    /// The integer's bytes, least significant first: how x86 memory, PCI registers and
    /// ACPI tables all store it.
    public var littleEndianBytes: [UInt8] {
        (0..<MemoryLayout<Self>.size).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) }
    }
}
