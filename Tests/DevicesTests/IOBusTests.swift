import Testing

@testable import Devices

@Suite("IOBus")
struct IOBusTests {
    @Test("IOBus: an access reaches the device whose range holds the address")
    func dispatch() throws {
        var bus = IOBus()
        try bus.register(AbsentDevice(name: "low"), at: IOBus.Range(base: 0x10, length: 4))
        try bus.register(OffsetEchoDevice(name: "high"), at: IOBus.Range(base: 0x20, length: 4))
        #expect(bus.deviceName(at: 0x13) == "low")
        #expect(bus.deviceName(at: 0x20) == "high")
        #expect(bus.read(at: 0x11, size: 1) == 0xff)
        #expect(bus.read(at: 0x22, size: 1) == 2)
    }

    @Test("IOBus: the device sees the offset from its range's base")
    func offsetComputation() throws {
        var bus = IOBus()
        let slot = try bus.register(
            OffsetEchoDevice(name: "echo"), at: IOBus.Range(base: 0x3f8, length: 8))
        #expect(bus.read(at: 0x3f8, size: 1) == 0)
        #expect(bus.read(at: 0x3ff, size: 1) == 7)
        #expect(bus.write(at: 0x3fb, size: 2, value: 0xbeef) == DeviceEffect.none)
        let writes = slot.withLock { $0.writes.map { [$0.offset, UInt64($0.size), $0.value] } }
        #expect(writes == [[3, 2, 0xbeef]])
    }

    @Test("IOBus: one slot at two ranges sees them at the offsets it was registered with")
    func slotAtSeveralRanges() throws {
        var bus = IOBus()
        let slot = DeviceSlot(OffsetEchoDevice(name: "i8042"))
        try bus.register(slot, at: IOBus.Range(base: 0x60, length: 1))
        try bus.register(slot, at: IOBus.Range(base: 0x64, length: 1), offset: 4)
        #expect(bus.read(at: 0x60, size: 1) == 0)
        #expect(bus.read(at: 0x64, size: 1) == 4)
        #expect(bus.read(at: 0x61, size: 1) == nil)
    }

    @Test("IOBus: a range that overlaps a registered one is rejected, naming both")
    func overlapRejected() throws {
        var bus = IOBus()
        try bus.register(AbsentDevice(name: "com1"), at: IOBus.Range(base: 0x3f8, length: 8))
        let error = #expect(throws: IOBus.OverlapError.self) {
            try bus.register(AbsentDevice(name: "late"), at: IOBus.Range(base: 0x3ff, length: 2))
        }
        #expect(error?.name == "late")
        #expect(error?.existing == "com1")
        #expect(error?.description == "late at 0x3ff-0x400 overlaps com1")
        #expect(throws: IOBus.OverlapError.self) {
            try bus.register(AbsentDevice(name: "around"), at: IOBus.Range(base: 0x3f0, length: 0x20))
        }
        // Touching is not overlapping.
        try bus.register(AbsentDevice(name: "below"), at: IOBus.Range(base: 0x3f0, length: 8))
        try bus.register(AbsentDevice(name: "above"), at: IOBus.Range(base: 0x400, length: 1))
        #expect(bus.deviceName(at: 0x3f7) == "below")
        #expect(bus.deviceName(at: 0x3f8) == "com1")
        #expect(bus.deviceName(at: 0x400) == "above")
    }

    @Test("IOBus: an address no device claims answers nil")
    func unknownAddress() throws {
        var bus = IOBus()
        #expect(bus.read(at: 0x80, size: 1) == nil)
        try bus.register(AbsentDevice(name: "post"), at: IOBus.Range(base: 0x80, length: 1))
        #expect(bus.read(at: 0x7f, size: 1) == nil)
        #expect(bus.read(at: 0x81, size: 1) == nil)
        #expect(bus.write(at: 0x81, size: 1, value: 0) == nil)
        #expect(bus.deviceName(at: 0x81) == nil)
        #expect(bus.write(at: 0x80, size: 1, value: 0) == DeviceEffect.none)
    }
}
