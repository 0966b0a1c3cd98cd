import JSON

/// A JSON object read as one of the API's resources: every member must be one the
/// resource has (an unknown one is refused, as Firecracker's `deny_unknown_fields`
/// does), and each is read as the type it must have.
struct JSONObject {
    private let members: [String: JSONValue]

    /// `value`, which must be an object whose members are all among `fields`.
    init(_ value: JSONValue, fields: [String]) throws(APIError) {
        guard case .object(let list) = value else {
            throw .body("invalid type: \(value.kind), expected an object")
        }
        for (name, _) in list where !fields.contains(name) {
            throw .body("unknown field `\(name)`, expected one of \(fields.map { "`\($0)`" }.joined(separator: ", "))")
        }
        members = Dictionary(list, uniquingKeysWith: { first, _ in first })
    }

    /// Parses `body` as JSON, then as an object with `fields`.
    init(body: [UInt8], fields: [String]) throws(APIError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw .body(error.description)
        }
        try self.init(value, fields: fields)
    }

    /// The member `name`, or nil when it is absent or null.
    func value(_ name: String) -> JSONValue? {
        guard let value = members[name], value != .null else { return nil }
        return value
    }

    private func wrongType(_ name: String, _ value: JSONValue, expected: String) -> APIError {
        .body("invalid type: \(value.kind), expected \(expected) for `\(name)`")
    }

    func string(_ name: String) throws(APIError) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let string) = value else { throw wrongType(name, value, expected: "a string") }
        return string
    }

    func requiredString(_ name: String) throws(APIError) -> String {
        guard let string = try string(name) else { throw .body("missing field `\(name)`") }
        return string
    }

    func bool(_ name: String) throws(APIError) -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(name, value, expected: "a boolean") }
        return flag
    }

    func requiredBool(_ name: String) throws(APIError) -> Bool {
        guard let flag = try bool(name) else { throw .body("missing field `\(name)`") }
        return flag
    }

    /// An integer in `range` (the field's type in Firecracker: u8, u32, u64...).
    func integer(_ name: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64? {
        guard let value = value(name) else { return nil }
        guard case .integer(let number) = value else { throw wrongType(name, value, expected: "an integer") }
        guard range.contains(number) else {
            throw .body("invalid value: integer `\(number)`, expected `\(name)` from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func requiredInteger(_ name: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        guard let number = try integer(name, in: range) else { throw .body("missing field `\(name)`") }
        return number
    }

    /// One of `choices` (a string enumeration of the OpenAPI description).
    func choice(_ name: String, of choices: [String]) throws(APIError) -> String? {
        guard let string = try string(name) else { return nil }
        guard choices.contains(string) else {
            throw .body("unknown variant `\(string)`, expected one of \(choices.map { "`\($0)`" }.joined(separator: ", ")) for `\(name)`")
        }
        return string
    }
}

/// An ID in a path or a body: Firecracker takes letters, digits and underscores.
func checkedID(_ id: String) throws(APIError) -> String {
    guard !id.isEmpty else { throw APIError("The ID cannot be empty.") }
    guard id.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else {
        throw APIError("API Resource IDs can only contain alphanumeric characters and underscores.")
    }
    return id
}
