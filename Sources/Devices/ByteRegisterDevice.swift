/// A device whose registers are single bytes, as every device on the PC's 8-bit ISA bus.
///
/// The guest may still issue a 16- or 32-bit `in`/`out` to such a device. On a PC the
/// chipset splits that access into byte cycles at consecutive ports, lowest first, and
/// assembles the bytes little-endian; this protocol's default `read` and `write` do the
/// same, so a device only describes its byte registers. (The bus dispatches a whole
/// access on its first port, so a byte that falls past the device's own registers is
/// answered by the device, as absent: see `readByte(at:)`.)
public protocol ByteRegisterDevice: BusDevice {
    /// Reads the byte register at `offset`. Offsets the device does not decode answer
    /// `ByteRegisterDevice.absentByte`.
    mutating func readByte(at offset: UInt64) -> UInt8

    /// Writes the byte register at `offset`. Offsets the device does not decode ignore it.
    mutating func writeByte(_ value: UInt8, at offset: UInt64) -> DeviceEffect
}

extension ByteRegisterDevice {
    /// What a read of a port no device drives returns: the ISA data lines are pulled up.
    public static var absentByte: UInt8 { 0xff }

    /// A wide read, as the chipset splits it: byte reads at `offset`, `offset + 1`, ...,
    /// assembled little-endian.
    public mutating func read(offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<size {
            let byte = readByte(at: offset + UInt64(index))
            value |= UInt64(byte) << (8 * index)
        }
        return value
    }

    /// A wide write, as the chipset splits it: byte writes, lowest first.
    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        // A wide write may carry several effects in principle; the first one wins (no
        // device here produces more than one effect per access in practice).
        var effect = DeviceEffect.none
        for index in 0..<size {
            let byte = UInt8(truncatingIfNeeded: value >> (8 * index))
            let byteEffect = writeByte(byte, at: offset + UInt64(index))
            if effect == .none { effect = byteEffect }
        }
        return effect
    }
}
