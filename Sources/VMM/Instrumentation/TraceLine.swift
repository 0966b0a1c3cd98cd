/// One trace line under construction, as ASCII bytes: `Tracer` appends the fields, then
/// hands the bytes to its `TraceWriter`. Numbers are formatted here, digit by digit, so
/// that a line costs no allocation once the buffer has grown to a line's size.
///
/// ```
/// 0.104520 vcpu0 io-out port=0x3f8 size=1 value=0x48 device=com1
/// ```
struct TraceLine {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(128) }

    /// Empties the line, keeping its storage.
    mutating func clear() { bytes.removeAll(keepingCapacity: true) }

    /// Seconds since the trace's origin, with microseconds: `12.345678`.
    mutating func time(_ nanoseconds: UInt64) {
        let microseconds = nanoseconds / 1000
        decimal(microseconds / 1_000_000)
        bytes.append(UInt8(ascii: "."))
        let fraction = microseconds % 1_000_000
        var scale: UInt64 = 100_000
        while scale > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / scale % 10))
            scale /= 10
        }
    }

    /// A space, then `text`.
    mutating func word(_ text: String) {
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: text.utf8)
    }

    /// A space, then `text` and `number` run together: `vcpu0`.
    mutating func word(_ text: String, _ number: Int) {
        word(text)
        decimal(UInt64(number))
    }

    /// ` key=0x...`
    mutating func hex(_ key: String, _ value: UInt64) {
        word(key)
        bytes.append(contentsOf: "=0x".utf8)
        var shift = max(0, (UInt64.bitWidth - value.leadingZeroBitCount + 3) / 4 * 4 - 4)
        while true {
            bytes.append(Self.hexDigits[Int(value >> UInt64(shift) & 0xf)])
            if shift == 0 { break }
            shift -= 4
        }
    }

    /// ` key=123`
    mutating func decimal(_ key: String, _ value: UInt64) {
        word(key)
        bytes.append(UInt8(ascii: "="))
        decimal(value)
    }

    /// ` key=text`
    mutating func text(_ key: String, _ value: String) {
        word(key)
        bytes.append(UInt8(ascii: "="))
        bytes.append(contentsOf: value.utf8)
    }

    /// Ends the line.
    mutating func newline() { bytes.append(UInt8(ascii: "\n")) }

    private mutating func decimal(_ value: UInt64) {
        if value >= 10 { decimal(value / 10) }
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
