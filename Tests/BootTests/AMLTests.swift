import Testing
@testable import Boot

@Suite("AML encoding (ACPI 6.5, 20)")
struct AMLTests {
    @Test("ACPI 6.5 19.6.35: EISAID(\"PNP0A03\") is 0x030AD041, and Name(_HID, ...) encodes as ASL compilers emit it")
    func eisaIDAndName() {
        #expect(AML.eisaID("PNP0A03") == .integer(0x030a_d041))
        #expect(AML.eisaID("PNP0501") == .integer(0x0105_d041))
        #expect(AML.name("_HID", .eisaID("PNP0A03")).bytes == [0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x0a, 0x03])
    }

    @Test("ACPI 6.5 20.2.3: integers take the shortest prefix, 0 and 1 their own opcodes")
    func integers() {
        #expect(AML.integer(0).bytes == [0x00])
        #expect(AML.integer(1).bytes == [0x01])
        #expect(AML.integer(2).bytes == [0x0a, 0x02])
        #expect(AML.integer(0x100).bytes == [0x0b, 0x00, 0x01])
        #expect(AML.integer(0x1_0000).bytes == [0x0c, 0x00, 0x00, 0x01, 0x00])
        #expect(AML.integer(0x1_0000_0000).bytes == [0x0e, 0, 0, 0, 0, 1, 0, 0, 0])
        #expect(AML.string("LNRO0005").bytes == [0x0d] + Array("LNRO0005".utf8) + [0])
    }

    @Test("ACPI 6.5 20.2.4: PkgLength counts itself; one byte up to 63, then a lead byte with 1-3 more")
    func packageLength() {
        #expect(AML.packageLength(contentsCount: 62) == [63])
        // 63 bytes of contents + 2 bytes of PkgLength = 65 = 0x41: lead 0x41 (one more byte, low nibble 1), then 0x04.
        #expect(AML.packageLength(contentsCount: 63) == [0x41, 0x04])
        // 4093 + 2 = 4095 fits in 12 bits; 4094 + 3 = 4097 needs a third byte.
        #expect(AML.packageLength(contentsCount: 4093) == [0x4f, 0xff])
        #expect(AML.packageLength(contentsCount: 4094) == [0x81, 0x00, 0x01])
        // The length goes in front of what the contents appended, after what was there.
        var out: [UInt8] = [0x12]
        AML.withPackageLength(into: &out) { $0 += [UInt8](repeating: 7, count: 63) }
        #expect(out.prefix(3) == [0x12, 0x41, 0x04] && out.count == 66 && out.last == 7)
    }

    @Test("ACPI 6.5 20.2.2: name strings: root prefix, padding, DualNamePrefix, MultiNamePrefix")
    func nameStrings() {
        func nameString(_ path: String) -> [UInt8] {
            var out: [UInt8] = []
            AML.encodeNameString(path, into: &out)
            return out
        }
        #expect(nameString("\\_SB") == [0x5c] + Array("_SB_".utf8))
        #expect(nameString("COM1") == Array("COM1".utf8))
        #expect(nameString("\\_SB.PCI0") == [0x5c, 0x2e] + Array("_SB_PCI0".utf8))
        #expect(nameString("\\_SB.PCI0.S08") == [0x5c, 0x2f, 3] + Array("_SB_PCI0S08_".utf8))
        #expect(nameString("^^FOO") == [0x5e, 0x5e] + Array("FOO_".utf8))
        #expect(nameString("") == [0])
    }

    @Test("a scope of devices with names, packages and buffers decodes back to the same terms")
    func roundTrip() throws {
        let terms: [AML] = [
            .scope("\\_SB", [
                .device("VR00", [
                    .name("_HID", .string("LNRO0005")),
                    .name("_UID", .integer(0)),
                    .name("_CRS", .resourceTemplate([.memory32Fixed(base: 0xd000_0000, length: 0x1000)])),
                ]),
                .device("PCI0", [
                    .name("_PRT", .package((0..<40).map { .package([.integer(UInt64($0) << 16 | 0xffff), .integer(0), .integer(0), .integer(16)]) })),
                ]),
            ]),
        ]
        let bytes = terms.flatMap(\.bytes)
        #expect(bytes.count > 64 * 8)  // long enough that multi-byte PkgLengths are exercised
        #expect(try AMLDecoder.decodeTermList(bytes) == terms)
    }

    @Test("ACPI 6.5 6.4: resource descriptors have the tags and lengths of the specification, and an end tag")
    func resourceDescriptors() throws {
        let template = AML.resourceTemplate([
            .ioPorts(base: 0x3f8, length: 8), .isaIRQ(4), .memory32Fixed(base: 0xd000_0000, length: 0x1000),
            .interrupt(gsi: 5, trigger: .level), .busNumbers(0...0), .ioWindow(0xd00...0xffff),
            .memoryWindow(0xc000_0000...0xcfff_ffff),
        ])
        guard case .buffer(let bytes) = template, let items = ResourceDecoder.items(bytes) else {
            Issue.record("not a well-formed resource template")
            return
        }
        #expect(items.map(\.tag) == [0x47, 0x22, 0x86, 0x89, 0x88, 0x88, 0x87, 0x79])
        #expect(items[0].body == [0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08])   // Decode16, min, max, align, length
        #expect(items[1].body == [0x10, 0x00])                                // IRQ mask bit 4
        #expect(items[2].body == [0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00])
        #expect(items[3].body == [0x01, 0x01, 0x05, 0x00, 0x00, 0x00])       // consumer, level, active high; 1 GSI
        #expect(items[4].body.count == 13 && items[4].body[0] == 2)          // bus number space
        // type, flags, flags, granularity, minimum (5), maximum (7), translation, length (11)
        #expect(field(items[5].body, 5, as: UInt16.self) == 0xd00 && field(items[5].body, 7, as: UInt16.self) == 0xffff)
        #expect(field(items[5].body, 11, as: UInt16.self) == 0xf300)
        #expect(items[6].body.count == 23 && items[6].body[0] == 0 && items[6].body[2] == 0x01)
        #expect(field(items[6].body, 7, as: UInt32.self) == 0xc000_0000)
        #expect(field(items[6].body, 19, as: UInt32.self) == 0x1000_0000)
    }
}
