import Testing
@testable import GuestMemory

@Suite("Guest memory: layout and checked access")
struct GuestMemoryTests {
    @Test("RAM that fits below the MMIO hole is one region")
    func oneRegion() {
        let regions = Layout.ramRegions(ramSize: 512 << 20)
        #expect(regions.count == 1)
        #expect(regions[0].start == GuestAddress(0))
        #expect(regions[0].size == 512 << 20)
    }

    @Test("RAM beyond the hole is split: [0, 3 GiB) and [4 GiB, 4 GiB + rest)")
    func splitAroundHole() throws {
        let regions = Layout.ramRegions(ramSize: 5 << 30)
        #expect(regions.count == 2)
        #expect(regions[0].start == GuestAddress(0))
        #expect(regions[0].size == Layout.mmioHoleStart.rawValue)
        #expect(regions[1].start == Layout.highRAMStart)
        #expect(regions[1].size == (5 << 30) - Layout.mmioHoleStart.rawValue)
        // Mapping 5 GiB costs nothing until touched (MAP_NORESERVE).
        let memory = try GuestMemory(size: 5 << 30)
        #expect(memory.size == 5 << 30)
        try memory.write(UInt64(0x1122_3344_5566_7788), at: Layout.highRAMStart)
        #expect(try memory.read(UInt64.self, at: Layout.highRAMStart) == 0x1122_3344_5566_7788)
        #expect(throws: GuestMemoryError.self) { try memory.read(UInt8.self, at: Layout.mmioHoleStart) }
    }

    @Test("reads and writes are little-endian and round-trip")
    func roundTrip() throws {
        let memory = try GuestMemory(size: 1 << 20)
        try memory.write(UInt32(0xdead_beef), at: GuestAddress(0x100))
        #expect(try memory.readBytes(at: GuestAddress(0x100), count: 4) == [0xef, 0xbe, 0xad, 0xde])
        try memory.write(bytes: [1, 2, 3], at: GuestAddress(0x200))
        #expect(try memory.read(UInt16.self, at: GuestAddress(0x201)) == 0x0302)
        try memory.zero(at: GuestAddress(0x200), count: 3)
        #expect(try memory.readBytes(at: GuestAddress(0x200), count: 3) == [0, 0, 0])
    }

    @Test("an access that runs past the end of RAM is refused, even by one byte")
    func pastTheEnd() throws {
        let memory = try GuestMemory(size: 1 << 20)
        let last = GuestAddress((1 << 20) - 4)
        try memory.write(UInt32(1), at: last)
        #expect(throws: GuestMemoryError.outOfBounds(address: GuestAddress((1 << 20) - 3), length: 4)) {
            try memory.write(UInt32(1), at: GuestAddress((1 << 20) - 3))
        }
        #expect(throws: GuestMemoryError.self) { try memory.readBytes(at: last, count: 5) }
    }

    @Test("an address plus length that overflows 64 bits is refused as an overflow")
    func overflow() throws {
        let memory = try GuestMemory(size: 1 << 20)
        #expect(throws: GuestMemoryError.overflow(address: GuestAddress(UInt64.max - 1), length: 4)) {
            try memory.read(UInt32.self, at: GuestAddress(UInt64.max - 1))
        }
    }

    @Test("an access that spans the hole between two regions is refused")
    func spanningRegions() throws {
        let memory = try GuestMemory(regions: [(GuestAddress(0), 0x1000), (GuestAddress(0x2000), 0x1000)])
        #expect(throws: GuestMemoryError.self) { try memory.readBytes(at: GuestAddress(0xff0), count: 0x20) }
        #expect(!memory.contains(GuestAddress(0x1800), length: 1))
        #expect(memory.contains(GuestAddress(0x2000), length: 0x1000))
    }

    @Test("overlapping or unaligned layouts are refused")
    func badLayouts() {
        #expect(throws: GuestMemoryError.self) { try GuestMemory(regions: []) }
        #expect(throws: GuestMemoryError.self) { try GuestMemory(regions: [(GuestAddress(0), 0x1001)]) }
        #expect(throws: GuestMemoryError.self) {
            try GuestMemory(regions: [(GuestAddress(0), 0x2000), (GuestAddress(0x1000), 0x1000)])
        }
    }

    @Test("guest address arithmetic reports overflow instead of wrapping")
    func addressArithmetic() {
        #expect(GuestAddress(UInt64.max).adding(1) == nil)
        #expect(GuestAddress(0x1001).alignedUp(to: 0x1000) == GuestAddress(0x2000))
        #expect(GuestAddress(UInt64.max).alignedUp(to: 0x1000) == nil)
        #expect(GuestAddress(0x1fff).alignedDown(to: 0x1000) == GuestAddress(0x1000))
        #expect(GuestAddress(0x10).offset(from: GuestAddress(0x20)) == nil)
    }

    @Test("ring indices are loaded and stored as little-endian atomics, aligned and inside RAM, or refused")
    func ringIndices() throws {
        let memory = try GuestMemory(regions: [(GuestAddress(0), 0x1000)])
        try memory.storeReleasing(0xbeef, at: GuestAddress(0x102))
        #expect(try memory.readBytes(at: GuestAddress(0x102), count: 2) == [0xef, 0xbe])
        try memory.write(bytes: [0x34, 0x12], at: GuestAddress(0x200))
        #expect(try memory.loadAcquiring(UInt16.self, at: GuestAddress(0x200)) == 0x1234)
        #expect(throws: GuestMemoryError.misaligned(address: GuestAddress(0x201), alignment: 2)) {
            try memory.loadAcquiring(UInt16.self, at: GuestAddress(0x201))
        }
        #expect(throws: GuestMemoryError.outOfBounds(address: GuestAddress(0x1000), length: 2)) {
            try memory.storeReleasing(1, at: GuestAddress(0x1000))
        }
    }
}
