import JSON
import Testing

@Suite("JSON reader (RFC 8259), strict")
struct JSONParserTests {
    @Test("objects keep their order; integers, strings with escapes, booleans and null read back")
    func values() throws {
        let value = try JSONParser.parse(" {\"b\": [1, -2, 3.5, 1e3, 99999999999999999999], \"a\": \"\\u00e9\\n\\ud83d\\ude00\\/\", \"t\": true, \"f\": false, \"n\": null} ")
        #expect(value == .object([
            ("b", .array([.integer(1), .integer(-2), .otherNumber("3.5"), .otherNumber("1e3"), .otherNumber("99999999999999999999")])),
            ("a", .string("é\n😀/")), ("t", .bool(true)), ("f", .bool(false)), ("n", .null),
        ]))
        #expect(value.compactText == "{\"b\":[1,-2,3.5,1e3,99999999999999999999],\"a\":\"é\\n😀/\",\"t\":true,\"f\":false,\"n\":null}")
    }

    @Test("what is not one JSON value is refused", arguments: [
        "", " ", "{", "}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{a:1}", "01", "-", "1.", ".5", "1e", "+1",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\u{1}\"", "tru", "nul", "{} {}", "[] x",
        "{\"a\":1,\"a\":2}", "NaN", "'a'",
    ])
    func refused(_ text: String) {
        #expect(throws: JSONParser.Error.self, "\(text.debugDescription)") { try JSONParser.parse(text) }
    }

    @Test("invalid UTF-8 in a string is refused")
    func invalidUTF8() {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0xc3, 0x28, 0x22]) }
    }

    @Test("nesting deeper than the limit is refused, not a stack overflow")
    func depth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(deep) }
        let allowed = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        _ = try JSONParser.parse(allowed)
    }

    @Test("the error names where the text went wrong")
    func errorOffset() {
        do {
            _ = try JSONParser.parse("{\"a\": tru}")
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 9)  // the '}' where 'true' went wrong
        }
    }
}
