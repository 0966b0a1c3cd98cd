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
        var encoded: [UInt8] = []
        encode(into: &encoded)
        return encoded
    }

    /// Appends the encoded term to `out`. A whole tree of terms goes into one buffer; a
    /// PkgLength goes in front of its contents once they are written.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .integer(let value):
            Self.encodeInteger(value, into: &out)
        case .string(let text):
            precondition(text.utf8.allSatisfy { $0 >= 0x01 && $0 <= 0x7f }, "AML strings are ASCII without NUL")
            out.append(Opcode.stringPrefix)
            out += text.utf8
            out.append(0)
        case .buffer(let contents):
            out.append(Opcode.buffer)
            Self.withPackageLength(into: &out) { out in
                Self.encodeInteger(UInt64(contents.count), into: &out)
                out += contents
            }
        case .package(let elements):
            precondition(elements.count <= 255, "a Package holds at most 255 elements (VarPackage is not encoded)")
            out.append(Opcode.package)
            Self.withPackageLength(into: &out) { out in
                out.append(UInt8(elements.count))
                for element in elements { element.encode(into: &out) }
            }
        case .name(let path, let value):
            out.append(Opcode.name)
            Self.encodeNameString(path, into: &out)
            value.encode(into: &out)
        case .scope(let path, let terms):
            out.append(Opcode.scope)
            Self.encodeNamedList(path, terms, into: &out)
        case .device(let path, let terms):
            out += [Opcode.extendedPrefix, Opcode.device]
            Self.encodeNamedList(path, terms, into: &out)
        }
    }

    /// A scope's or device's PkgLength, NameString and TermList.
    private static func encodeNamedList(_ path: String, _ terms: [AML], into out: inout [UInt8]) {
        withPackageLength(into: &out) { out in
            encodeNameString(path, into: &out)
            for term in terms { term.encode(into: &out) }
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
    static func encodeInteger(_ value: UInt64, into out: inout [UInt8]) {
        switch value {
        case 0: out.append(Opcode.zero)
        case 1: out.append(Opcode.one)
        case ...0xff: out += [Opcode.bytePrefix, UInt8(value)]
        case ...0xffff: out += [Opcode.wordPrefix] + UInt16(value).littleEndianBytes
        case ...0xffff_ffff: out += [Opcode.dwordPrefix] + UInt32(value).littleEndianBytes
        default: out += [Opcode.qwordPrefix] + value.littleEndianBytes
        }
    }

    /// Writes what `contents` appends to `out`, then puts its PkgLength in front of it.
    static func withPackageLength(into out: inout [UInt8], _ contents: (inout [UInt8]) -> Void) {
        let start = out.count
        contents(&out)
        out.insert(contentsOf: packageLength(contentsCount: out.count - start), at: start)
    }

    /// The PkgLength of `contentsCount` bytes, which counts itself too (ACPI 6.5, 20.2.4
    /// "Package Length Encoding"): one byte up to 63; otherwise bits 7-6 of the lead
    /// byte give 1-3 following bytes, its bits 3-0 are the length's low nibble and each
    /// following byte the next eight bits.
    static func packageLength(contentsCount: Int) -> [UInt8] {
        for extra in 0...3 {
            let total = contentsCount + 1 + extra
            if extra == 0 {
                if total <= 0x3f { return [UInt8(total)] }
                continue
            }
            guard total < 1 << (4 + 8 * extra) else { continue }
            var encoded = [UInt8(extra << 6) | UInt8(total & 0xf)]
            for index in 0..<extra { encoded.append(UInt8(truncatingIfNeeded: total >> (4 + 8 * index))) }
            return encoded
        }
        preconditionFailure("an AML package is at most 2^28 bytes")
    }

    /// A NameString (ACPI 6.5, 20.2.2 "Name Objects Encoding"): an optional `\` (root)
    /// or `^`s (parent), then dot-separated segments of up to four characters, padded
    /// with `_`; two segments take DualNamePrefix, more MultiNamePrefix and a count.
    static func encodeNameString(_ path: String, into out: inout [UInt8]) {
        var rest = Array(path.utf8)[...]
        if rest.first == Opcode.rootChar {
            out.append(Opcode.rootChar)
            rest = rest.dropFirst()
        }
        while rest.first == Opcode.parentPrefix {
            out.append(Opcode.parentPrefix)
            rest = rest.dropFirst()
        }
        let segments = rest.isEmpty ? [] : rest.split(separator: segmentSeparator, omittingEmptySubsequences: false)
        switch segments.count {
        case 0: out.append(0)  // NullName
        case 1: break
        case 2: out.append(Opcode.dualNamePrefix)
        default: out += [Opcode.multiNamePrefix, UInt8(segments.count)]
        }
        for segment in segments { encodeNameSegment(segment, into: &out) }
    }

    private static func text(_ segment: ArraySlice<UInt8>) -> String { String(decoding: segment, as: UTF8.self) }

    /// '.', between a path's segments.
    static let segmentSeparator = UInt8(ascii: ".")

    /// A NameSeg: a leading letter or `_`, then letters, digits or `_`; four bytes.
    static func encodeNameSegment(_ segment: ArraySlice<UInt8>, into out: inout [UInt8]) {
        precondition((1...4).contains(segment.count), "a name segment has 1 to 4 characters: \(text(segment))")
        for (index, character) in segment.enumerated() {
            let isLeadChar = (0x41...0x5a).contains(character) || character == 0x5f
            precondition(isLeadChar || (index > 0 && (0x30...0x39).contains(character)), "bad AML name \(text(segment))")
        }
        out += segment
        out += repeatElement(0x5f, count: 4 - segment.count)
    }

}
