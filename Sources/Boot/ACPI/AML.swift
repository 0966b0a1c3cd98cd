/// A minimal encoder of ACPI Machine Language (ACPI 6.5, 20 "ACPI Machine Language (AML)
/// Specification"): the few terms a DSDT that only declares things needs. Named objects
/// hold data; there are no control methods, so no interpreter ever runs SwiftVMM's code.
///
/// ```
///  term                       encoding (ACPI 6.5, 20.2)
///  Scope(\_SB) { ... }        ScopeOp PkgLength NameString TermList
///  Device(COM1) { ... }       ExtOpPrefix DeviceOp PkgLength NameString TermList
///  Name(_HID, ...)            NameOp NameString DataRefObject
///  Package() { ... }          PackageOp PkgLength NumElements PackageElementList
///  Buffer() { ... }           BufferOp PkgLength BufferSize ByteList
///  "text"                     StringPrefix AsciiCharList NullChar
///  0, 1, 0x1234, ...          ZeroOp, OneOp, BytePrefix/WordPrefix/DWordPrefix/QWordPrefix
/// ```
public indirect enum AML: Sendable, Equatable {
    case integer(UInt64)
    case string(String)
    case buffer([UInt8])
    case package([AML])
    case name(String, AML)
    case scope(String, [AML])
    case device(String, [AML])

    /// Opcodes and prefixes (ACPI 6.5, 20.3 "AML Byte Stream Byte Values").
    enum Opcode {
        static let zero: UInt8 = 0x00
        static let one: UInt8 = 0x01
        static let name: UInt8 = 0x08
        static let bytePrefix: UInt8 = 0x0a
        static let wordPrefix: UInt8 = 0x0b
        static let dwordPrefix: UInt8 = 0x0c
        static let stringPrefix: UInt8 = 0x0d
        static let qwordPrefix: UInt8 = 0x0e
        static let scope: UInt8 = 0x10
        static let buffer: UInt8 = 0x11
        static let package: UInt8 = 0x12
        static let dualNamePrefix: UInt8 = 0x2e
        static let multiNamePrefix: UInt8 = 0x2f
        static let extendedPrefix: UInt8 = 0x5b
        static let rootChar: UInt8 = 0x5c  // '\'
        static let parentPrefix: UInt8 = 0x5e  // '^'
        static let device: UInt8 = 0x82  // after extendedPrefix
    }

    /// The encoded term.
    public var bytes: [UInt8] {
        switch self {
        case .integer(let value):
            return Self.encodeInteger(value)
        case .string(let text):
            precondition(text.utf8.allSatisfy { $0 >= 0x01 && $0 <= 0x7f }, "AML strings are ASCII without NUL")
            return [Opcode.stringPrefix] + Array(text.utf8) + [0]
        case .buffer(let contents):
            let size = Self.encodeInteger(UInt64(contents.count))
            return [Opcode.buffer] + Self.withPackageLength(size + contents)
        case .package(let elements):
            precondition(elements.count <= 255, "a Package holds at most 255 elements (VarPackage is not encoded)")
            return [Opcode.package] + Self.withPackageLength([UInt8(elements.count)] + elements.flatMap(\.bytes))
        case .name(let path, let value):
            return [Opcode.name] + Self.encodeNameString(path) + value.bytes
        case .scope(let path, let terms):
            return [Opcode.scope] + Self.withPackageLength(Self.encodeNameString(path) + terms.flatMap(\.bytes))
        case .device(let path, let terms):
            return [Opcode.extendedPrefix, Opcode.device]
                + Self.withPackageLength(Self.encodeNameString(path) + terms.flatMap(\.bytes))
        }
    }

    // MARK: Helpers for DSDT authors

    /// A compressed EISA ID, as ASL's `EISAID("PNP0A03")`: three letters of five bits
    /// each and four hexadecimal digits, stored big-endian in a DWord (ACPI 6.5, 19.6.35
    /// "EISAID"). PNP0A03 is 0x030AD041.
    public static func eisaID(_ id: String) -> AML {
        let characters = Array(id.utf8)
        precondition(characters.count == 7, "an EISA ID is three letters and four hex digits")
        let vendor = characters[0..<3].reduce(UInt16(0)) { $0 << 5 | UInt16($1 - 0x40) & 0x1f }
        guard let product = UInt16(String(decoding: characters[3...], as: UTF8.self), radix: 16) else {
            preconditionFailure("an EISA ID ends in four hex digits")
        }
        let bytes = [UInt8(vendor >> 8), UInt8(vendor & 0xff), UInt8(product >> 8), UInt8(product & 0xff)]
        return .integer(bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    }

    /// A resource template: the descriptors, then an end tag (ACPI 6.5, 6.4 "Resource
    /// Data Types for ACPI"), in a Buffer, as ASL's `ResourceTemplate() { ... }`.
    public static func resourceTemplate(_ descriptors: [ResourceDescriptor]) -> AML {
        .buffer(descriptors.flatMap(\.bytes) + ResourceDescriptor.endTag)
    }

    // MARK: Encodings

    /// The shortest integer encoding (ACPI 6.5, 20.2.3 "Data Objects Encoding").
    static func encodeInteger(_ value: UInt64) -> [UInt8] {
        switch value {
        case 0: return [Opcode.zero]
        case 1: return [Opcode.one]
        case ...0xff: return [Opcode.bytePrefix] + UInt8(value).littleEndianBytes
        case ...0xffff: return [Opcode.wordPrefix] + UInt16(value).littleEndianBytes
        case ...0xffff_ffff: return [Opcode.dwordPrefix] + UInt32(value).littleEndianBytes
        default: return [Opcode.qwordPrefix] + value.littleEndianBytes
        }
    }

    /// `contents` preceded by its PkgLength, which counts itself (ACPI 6.5, 20.2.4
    /// "Package Length Encoding"): one byte up to 63; otherwise bits 7-6 of the lead
    /// byte give 1-3 following bytes, its bits 3-0 are the length's low nibble and each
    /// following byte the next eight bits.
    static func withPackageLength(_ contents: [UInt8]) -> [UInt8] {
        for extra in 0...3 {
            let total = contents.count + 1 + extra
            if extra == 0 {
                if total <= 0x3f { return [UInt8(total)] + contents }
                continue
            }
            guard total < 1 << (4 + 8 * extra) else { continue }
            var encoded = [UInt8(extra << 6) | UInt8(total & 0xf)]
            for index in 0..<extra { encoded.append(UInt8(truncatingIfNeeded: total >> (4 + 8 * index))) }
            return encoded + contents
        }
        preconditionFailure("an AML package is at most 2^28 bytes")
    }

    /// A NameString (ACPI 6.5, 20.2.2 "Name Objects Encoding"): an optional `\` (root)
    /// or `^`s (parent), then dot-separated segments of up to four characters, padded
    /// with `_`; two segments take DualNamePrefix, more MultiNamePrefix and a count.
    static func encodeNameString(_ path: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = Substring(path)
        if rest.first == "\\" {
            bytes.append(Opcode.rootChar)
            rest = rest.dropFirst()
        }
        while rest.first == "^" {
            bytes.append(Opcode.parentPrefix)
            rest = rest.dropFirst()
        }
        let segments = rest.isEmpty ? [] : rest.split(separator: ".", omittingEmptySubsequences: false).map(encodeNameSegment)
        switch segments.count {
        case 0: bytes.append(0)  // NullName
        case 1: bytes += segments[0]
        case 2: bytes += [Opcode.dualNamePrefix] + segments[0] + segments[1]
        default: bytes += [Opcode.multiNamePrefix, UInt8(segments.count)] + segments.flatMap { $0 }
        }
        return bytes
    }

    /// A NameSeg: a leading letter or `_`, then letters, digits or `_`; four bytes.
    static func encodeNameSegment(_ segment: Substring) -> [UInt8] {
        let characters = Array(segment.utf8)
        precondition((1...4).contains(characters.count), "a name segment has 1 to 4 characters: \(segment)")
        for (index, character) in characters.enumerated() {
            let isLeadChar = (0x41...0x5a).contains(character) || character == 0x5f
            precondition(isLeadChar || (index > 0 && (0x30...0x39).contains(character)), "bad AML name \(segment)")
        }
        return characters + [UInt8](repeating: 0x5f, count: 4 - characters.count)
    }

}
