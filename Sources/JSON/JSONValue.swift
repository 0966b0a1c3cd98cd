/// A JSON value (RFC 8259), written and read by hand: `--stats-json` and the Firecracker
/// API need objects whose keys keep their order, integers, strings, booleans and null,
/// and nothing more. `JSONParser` reads one; `text(indent:)` and `compactText` write one.
public enum JSONValue: Sendable, Equatable {
    /// Members in the order they were written; a parsed object has no duplicate keys.
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    /// A number without fraction or exponent that fits 64 signed bits.
    case integer(Int64)
    /// Any other number, as its text (RFC 8259, 6): a fraction, an exponent, or an
    /// integer too large for `integer`. SwiftVMM reads no such number; keeping the text
    /// lets a message quote it.
    case otherNumber(String)
    case bool(Bool)
    case null

    /// A number of nanoseconds or bytes, or null.
    public static func number(_ value: UInt64?) -> JSONValue {
        value.map { .integer(Int64(clamping: $0)) } ?? .null
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let a), .array(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.otherNumber(let a), .otherNumber(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    /// The value as text, indented by two spaces per level, ending without a newline.
    public func text(indent: Int = 0) -> String {
        let inner = String(repeating: "  ", count: indent + 1), outer = String(repeating: "  ", count: indent)
        switch self {
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            let lines = members.map { inner + Self.quote($0.0) + ": " + $0.1.text(indent: indent + 1) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + outer + "}"
        case .array(let elements):
            guard !elements.isEmpty else { return "[]" }
            let lines = elements.map { inner + $0.text(indent: indent + 1) }
            return "[\n" + lines.joined(separator: ",\n") + "\n" + outer + "]"
        default: return compactText
        }
    }

    /// The value as text on one line, with no space between tokens (what an HTTP body
    /// carries).
    public var compactText: String {
        switch self {
        case .object(let members):
            return "{" + members.map { Self.quote($0.0) + ":" + $0.1.compactText }.joined(separator: ",") + "}"
        case .array(let elements): return "[" + elements.map(\.compactText).joined(separator: ",") + "]"
        case .string(let string): return Self.quote(string)
        case .integer(let number): return String(number)
        case .otherNumber(let text): return text
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        }
    }

    /// `string` as a JSON string: quotes, backslashes and control characters escaped
    /// (RFC 8259, 7 "Strings").
    public static func quote(_ string: String) -> String {
        var quoted = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// What kind of value this is, as messages name it ("a string", "an integer").
    public var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .integer: return "an integer"
        case .otherNumber: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}
