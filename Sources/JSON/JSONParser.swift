/// A strict JSON reader (RFC 8259): one value, whitespace around it and nothing else.
///
/// Strict where the RFC leaves room: an object with a repeated name is refused (RFC 8259,
/// 4: names "SHOULD be unique"; a request that says two things is not guessed at), text
/// must be UTF-8 (8.1), and nesting deeper than `maximumDepth` is refused, so hostile
/// input cannot exhaust the stack (9: "An implementation may set limits on ... the
/// maximum depth of nesting").
public struct JSONParser {
    /// Why the text is not JSON, and where (a byte offset from 0).
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    /// Nesting limit: Firecracker's documents nest four levels at most.
    public static let maximumDepth = 32

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0

    /// Parses `bytes` as one JSON text.
    public static func parse(_ bytes: [UInt8]) throws(Error) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("trailing characters after the value") }
        return value
    }

    /// Parses `text` as one JSON text.
    public static func parse(_ text: String) throws(Error) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ message: String) -> Error { Error(message: message, offset: position) }

    private var next: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        // RFC 8259, 2: space, horizontal tab, line feed, carriage return.
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d { position += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(Error) -> JSONValue {
        for byte in literal.utf8 {
            guard next == byte else { throw error("expected '\(literal)'") }
            position += 1
        }
        return value
    }

    private mutating func value() throws(Error) -> JSONValue {
        guard let byte = next else { throw error("expected a value, found the end") }
        switch byte {
        case UInt8(ascii: "{"): return try nested { (parser: inout JSONParser) throws(Error) in try parser.object() }
        case UInt8(ascii: "["): return try nested { (parser: inout JSONParser) throws(Error) in try parser.array() }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("expected a value")
        }
    }

    private mutating func nested(_ body: (inout JSONParser) throws(Error) -> JSONValue) throws(Error) -> JSONValue {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func object() throws(Error) -> JSONValue {
        position += 1  // {
        var members: [(String, JSONValue)] = []
        var names: Set<String> = []
        skipWhitespace()
        if next == UInt8(ascii: "}") { position += 1; return .object([]) }
        while true {
            skipWhitespace()
            guard next == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
            let start = position
            let name = try string()
            guard names.insert(name).inserted else {
                throw Error(message: "the member \(JSONValue.quote(name)) is given twice", offset: start)
            }
            skipWhitespace()
            guard next == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
            position += 1
            skipWhitespace()
            members.append((name, try value()))
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func array() throws(Error) -> JSONValue {
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if next == UInt8(ascii: "]") { position += 1; return .array([]) }
        while true {
            skipWhitespace()
            elements.append(try value())
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    /// RFC 8259, 6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func number() throws(Error) -> JSONValue {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.position
            while let byte = parser.next, byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { parser.position += 1 }
            return parser.position - first
        }
        if next == UInt8(ascii: "-") { position += 1 }
        if next == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits(&self) > 0 else { throw error("expected a digit") }
        }
        var integral = true
        if next == UInt8(ascii: ".") {
            position += 1
            integral = false
            guard digits(&self) > 0 else { throw error("expected a digit after '.'") }
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            position += 1
            integral = false
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        return .otherNumber(text)
    }

    /// A string, from its opening quote; escapes decoded (RFC 8259, 7).
    private mutating func string() throws(Error) -> String {
        position += 1  // "
        var scalars = String.UnicodeScalarView()
        var run = position  // start of the unescaped bytes not yet copied
        func flush(_ parser: JSONParser, upTo end: Int, into scalars: inout String.UnicodeScalarView) throws(Error) {
            guard run < end else { return }
            guard let text = String(validating: parser.bytes[run..<end], as: UTF8.self) else {
                throw Error(message: "a string is not valid UTF-8", offset: run)
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = next else { throw error("a string is not closed") }
            switch byte {
            case UInt8(ascii: "\""):
                try flush(self, upTo: position, into: &scalars)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(self, upTo: position, into: &scalars)
                position += 1
                scalars.append(try escape())
                run = position
            case 0..<0x20:
                throw error("a control character in a string must be escaped")
            default:
                position += 1
            }
        }
    }

    private mutating func escape() throws(Error) -> Unicode.Scalar {
        guard let byte = next else { throw error("an escape is not finished") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{8}"
        case UInt8(ascii: "f"): return "\u{c}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hexQuad()
            if (0xd800...0xdbff).contains(unit) {
                // A high surrogate must be followed by an escaped low one (RFC 8259, 7).
                guard next == UInt8(ascii: "\\") else { throw error("a lone UTF-16 surrogate") }
                position += 1
                guard next == UInt8(ascii: "u") else { throw error("a lone UTF-16 surrogate") }
                position += 1
                let low = try hexQuad()
                guard (0xdc00...0xdfff).contains(low) else { throw error("a lone UTF-16 surrogate") }
                return Unicode.Scalar(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))!
            }
            guard let scalar = Unicode.Scalar(unit) else { throw error("a lone UTF-16 surrogate") }
            return scalar
        default:
            throw Error(message: "an unknown escape", offset: position - 1)
        }
    }

    private mutating func hexQuad() throws(Error) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = next, let digit = Self.hexDigit(byte) else { throw error("expected four hexadecimal digits after \\u") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
