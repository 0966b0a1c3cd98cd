@testable import Boot

/// Reads AML back into terms, for the opcodes SwiftVMM emits (ACPI 6.5, 20.2), written
/// from the specification independently of the encoder so each checks the other.
struct AMLDecoder {
    enum Failure: Error, Equatable { case truncated, unknownOpcode(UInt8, at: Int), badName(at: Int) }

    let bytes: [UInt8]
    var offset = 0

    static func decodeTermList(_ bytes: [UInt8]) throws -> [AML] {
        var decoder = AMLDecoder(bytes: bytes)
        return try decoder.terms(until: bytes.count)
    }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw Failure.truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func littleEndian(_ count: Int) throws -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(try byte()) << (8 * UInt64(index)) }
        return value
    }

    /// PkgLength: returns the offset where the package ends.
    mutating func packageEnd() throws -> Int {
        let start = offset
        let lead = try byte()
        let follow = Int(lead >> 6)
        if follow == 0 { return start + Int(lead & 0x3f) }
        var length = Int(lead & 0x0f)
        for index in 0..<follow { length |= Int(try byte()) << (4 + 8 * index) }
        return start + length
    }

    mutating func nameString() throws -> String {
        var prefix = ""
        while let next = bytes[safe: offset], next == 0x5c || next == 0x5e {
            prefix += next == 0x5c ? "\\" : "^"
            offset += 1
        }
        let segmentCount: Int
        switch try byte() {
        case 0x00: return prefix
        case 0x2e: segmentCount = 2
        case 0x2f: segmentCount = Int(try byte())
        default: offset -= 1; segmentCount = 1
        }
        var segments: [String] = []
        for _ in 0..<segmentCount {
            guard offset + 4 <= bytes.count else { throw Failure.truncated }
            var segment = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            while segment.count > 1 && segment.hasSuffix("_") { segment.removeLast() }
            segments.append(segment)
            offset += 4
        }
        return prefix + segments.joined(separator: ".")
    }

    mutating func terms(until end: Int) throws -> [AML] {
        var terms: [AML] = []
        while offset < end { terms.append(try term()) }
        guard offset == end else { throw Failure.truncated }
        return terms
    }

    mutating func term() throws -> AML {
        let start = offset
        switch try byte() {
        case 0x00: return .integer(0)
        case 0x01: return .integer(1)
        case 0x0a: return .integer(try littleEndian(1))
        case 0x0b: return .integer(try littleEndian(2))
        case 0x0c: return .integer(try littleEndian(4))
        case 0x0e: return .integer(try littleEndian(8))
        case 0x0d:
            guard let nul = bytes[offset...].firstIndex(of: 0) else { throw Failure.truncated }
            defer { offset = nul + 1 }
            return .string(String(decoding: bytes[offset..<nul], as: UTF8.self))
        case 0x08:
            let name = try nameString()
            return .name(name, try term())
        case 0x10:
            let end = try packageEnd()
            let name = try nameString()
            return .scope(name, try terms(until: end))
        case 0x11:
            let end = try packageEnd()
            guard case .integer(let size) = try term(), offset + Int(size) == end else { throw Failure.truncated }
            defer { offset = end }
            return .buffer(Array(bytes[offset..<end]))
        case 0x12:
            let end = try packageEnd()
            let count = Int(try byte())
            let elements = try terms(until: end)
            guard elements.count == count else { throw Failure.truncated }
            return .package(elements)
        case 0x5b where bytes[safe: offset] == 0x82:
            offset += 1
            let end = try packageEnd()
            let name = try nameString()
            return .device(name, try terms(until: end))
        case let opcode:
            throw Failure.unknownOpcode(opcode, at: start)
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// Reads a resource template's descriptors back (ACPI 6.5, 6.4), up to the end tag.
enum ResourceDecoder {
    struct Item: Equatable {
        let tag: UInt8
        let body: [UInt8]
    }

    static func items(_ bytes: [UInt8]) -> [Item]? {
        var items: [Item] = []
        var offset = 0
        while offset < bytes.count {
            let tag = bytes[offset]
            if tag & 0x80 == 0 {
                let length = Int(tag & 0x07)
                guard offset + 1 + length <= bytes.count else { return nil }
                items.append(Item(tag: tag, body: Array(bytes[offset + 1..<offset + 1 + length])))
                offset += 1 + length
                if tag == 0x79 { return offset == bytes.count ? items : nil }
            } else {
                guard offset + 3 <= bytes.count else { return nil }
                let length = Int(bytes[offset + 1]) | Int(bytes[offset + 2]) << 8
                guard offset + 3 + length <= bytes.count else { return nil }
                items.append(Item(tag: tag, body: Array(bytes[offset + 3..<offset + 3 + length])))
                offset += 3 + length
            }
        }
        return nil  // no end tag
    }
}

/// Little-endian integer at `offset` of `bytes`.
func field<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as: T.Type = T.self) -> T {
    (0..<MemoryLayout<T>.size).reversed().reduce(T(0)) { $0 << 8 | T(bytes[offset + $1]) }
}
