import CUAPI
import Testing
@testable import Boot
import GuestMemory

@Suite("Zero page, command line and initrd (boot.rst, zero-page.rst)")
struct ZeroPageTests {
    func plan(
        _ kernel: [UInt8] = Fixtures.bzImage, initrd: UInt64? = nil,
        commandLine: String = "console=ttyS0", ram: UInt64 = 64 << 20
    ) throws -> BootPlan {
        try BootPlan.plan(kernel: kernel, initrdSize: initrd, commandLine: commandLine, ramSize: ram)
    }

    @Test("the bzImage's setup header is copied to 0x1f1 and the loader's fields are filled in")
    func loaderFields() throws {
        let plan = try plan()
        let page = plan.zeroPage
        #expect(page.bytes.count == MemoryLayout<boot_params>.size)
        // setup_sects, root_flags, syssize, ram_size as the kernel has them; vid_mode (0x1fa)
        // and the loader's fields are the loader's to fill.
        #expect(Array(page.bytes[0x1f1..<ZeroPageField.vidMode]) == Array(Fixtures.bzImage[0x1f1..<0x1fa]))
        #expect(Array(page.bytes[ZeroPageField.headerMagic..<ZeroPageField.headerMagic + 6])
            == Array(Fixtures.bzImage[0x202..<0x208]))  // "HdrS", version
        #expect(page.read(UInt8.self, at: ZeroPageField.typeOfLoader) == 0xff)  // "undefined" loader
        #expect(page.read(UInt16.self, at: ZeroPageField.vidMode) == 0xffff)  // "normal"
        let loadflags = try #require(page.read(UInt8.self, at: ZeroPageField.loadFlags))
        #expect(loadflags & 0x80 != 0)  // CAN_USE_HEAP
        #expect(loadflags & 0x01 != 0)  // LOADED_HIGH, from the kernel's header
        #expect(page.read(UInt16.self, at: ZeroPageField.heapEndPtr) == 0xfe00)
        #expect(page.read(UInt32.self, at: ZeroPageField.cmdLinePtr) == UInt32(Layout.commandLine.rawValue))
        #expect(page.read(UInt32.self, at: ZeroPageField.extCmdLinePtr) == 0)
        #expect(page.read(UInt32.self, at: ZeroPageField.cmdlineSize) == 2047)
        #expect(page.read(UInt32.self, at: ZeroPageField.ramdiskImage) == 0)
        #expect(page.read(UInt32.self, at: ZeroPageField.ramdiskSize) == 0)
        #expect(plan.writes.contains { $0.what == "zero page" && $0.address == Layout.zeroPage })
    }

    @Test("the command line is written NUL-terminated where cmd_line_ptr points")
    func commandLine() throws {
        let plan = try plan(commandLine: "console=ttyS0 root=/dev/vda")
        #expect(plan.bytes(of: "command line") == Array("console=ttyS0 root=/dev/vda".utf8) + [0])
        #expect(plan.writes.first { $0.what == "command line" }?.address == Layout.commandLine)
    }

    @Test("a command line of exactly cmdline_size bytes fits; one byte more is refused")
    func commandLineLimit() throws {
        // The test guest's header says cmdline_size = 2047 (without the NUL).
        _ = try plan(commandLine: String(repeating: "a", count: 2047))
        #expect(throws: BootError.commandLineTooLong(length: 2048, limit: 2047)) {
            try plan(commandLine: String(repeating: "a", count: 2048))
        }
        // The limit is the kernel's: a header that allows 255 bytes gets 255.
        let small = Fixtures.patch(Fixtures.bzImage, UInt32(255), at: ZeroPageField.cmdlineSize)
        #expect(throws: BootError.commandLineTooLong(length: 256, limit: 255)) {
            try plan(small, commandLine: String(repeating: "b", count: 256))
        }
        // ELF kernels have no header: x86-64's COMMAND_LINE_SIZE, 2048, applies.
        #expect(throws: BootError.commandLineTooLong(length: 2049, limit: 2048)) {
            try plan(Fixtures.elf, commandLine: String(repeating: "c", count: 2049))
        }
        // The length counts UTF-8 bytes, not characters.
        #expect(throws: BootError.commandLineTooLong(length: 2048, limit: 2047)) {
            try plan(commandLine: String(repeating: "é", count: 1024))
        }
    }

    @Test("the initrd goes page-aligned at the top of RAM, above the kernel, and the zero page says where")
    func initrdAtTopOfRAM() throws {
        let size: UInt64 = 3 * 4096 + 100
        let plan = try plan(initrd: size, ram: 64 << 20)
        let initrd = try #require(plan.initrd)
        #expect(initrd.size == size)
        #expect(initrd.address.rawValue % 4096 == 0)
        #expect(initrd.address.rawValue + size <= 64 << 20)
        #expect(initrd.address.rawValue + size > (64 << 20) - 4096)  // as high as it goes
        #expect(initrd.address >= plan.kernelEnd)
        let page = plan.zeroPage
        #expect(page.read(UInt32.self, at: ZeroPageField.ramdiskImage) == UInt32(initrd.address.rawValue))
        #expect(page.read(UInt32.self, at: ZeroPageField.ramdiskSize) == UInt32(size))
        #expect(page.read(UInt32.self, at: ZeroPageField.extRamdiskImage) == 0)
    }

    @Test("an empty initrd is refused: the zero page could only say there is none")
    func emptyInitrd() throws {
        #expect(throws: BootError.emptyInitrd) { try plan(initrd: 0, ram: 64 << 20) }
        #expect(BootError.emptyInitrd.concernsInitrd)
    }

    @Test("the initrd stays below initrd_addr_max when RAM reaches above it")
    func initrdBelowAddrMax() throws {
        let capped = Fixtures.patch(Fixtures.bzImage, UInt32(0x00ff_ffff), at: ZeroPageField.initrdAddrMax)
        let plan = try plan(capped, initrd: 1 << 20, ram: 64 << 20)
        let initrd = try #require(plan.initrd)
        #expect(initrd.address.rawValue + initrd.size <= 0x100_0000)
        #expect(initrd.address == GuestAddress(0x100_0000 - (1 << 20)))
    }

    @Test("an initrd larger than the room between the kernel and the top is refused")
    func initrdTooLarge() throws {
        let room = try (16 << 20) - plan(ram: 16 << 20).kernelEnd.alignedUp(to: 4096)!.rawValue
        #expect(throws: BootError.initrdTooLarge(size: 16 << 20, room: room)) {
            try plan(initrd: 16 << 20, ram: 16 << 20)
        }
        #expect(BootError.initrdTooLarge(size: 1, room: 0).concernsInitrd)
        #expect(!BootError.notAKernel.concernsInitrd)
    }

    @Test("the zero page carries the e820 map: its count and {addr, size, type} entries")
    func e820InZeroPage() throws {
        let plan = try plan(ram: 64 << 20)
        let page = plan.zeroPage
        #expect(page.read(UInt8.self, at: ZeroPageField.e820Entries) == UInt8(plan.e820.entries.count))
        for (index, entry) in plan.e820.entries.enumerated() {
            let base = ZeroPageField.e820Table + index * 20
            #expect(page.read(UInt64.self, at: base) == entry.start)
            #expect(page.read(UInt64.self, at: base + 8) == entry.size)
            #expect(page.read(UInt32.self, at: base + 16) == entry.type.rawValue)
        }
        // Offsets as zero-page.rst lists them.
        #expect(ZeroPageField.e820Entries == 0x1e8)
        #expect(ZeroPageField.header == 0x1f1)
        #expect(ZeroPageField.e820Table == 0x2d0)
        #expect(ZeroPageField.e820EntrySize == 20)
    }
}

@Suite("e820 map (ACPI 6.5, 15 System Address Map)")
struct E820MapTests {
    typealias Entry = E820Map.Entry

    @Test("512 MiB: RAM below 640 KiB, the BIOS hole reserved, RAM from 1 MiB, PCI's ECAM and KVM's pages reserved")
    func below4GiB() {
        let map = E820Map(ramRegions: Layout.ramRegions(ramSize: 512 << 20))
        #expect(map.entries == [
            Entry(start: 0, size: 0x9_fc00, type: .ram),
            Entry(start: 0x9_fc00, size: 0x10_0000 - 0x9_fc00, type: .reserved),
            Entry(start: 0x10_0000, size: (512 << 20) - 0x10_0000, type: .ram),
            Entry(start: 0xe000_0000, size: 0x10_0000, type: .reserved),
            Entry(start: 0xfffb_c000, size: 0x4000, type: .reserved),
        ])
    }

    @Test("5 GiB: RAM stops at the MMIO hole and resumes at 4 GiB")
    func aroundTheHole() {
        let map = E820Map(ramRegions: Layout.ramRegions(ramSize: 5 << 30))
        #expect(map.entries == [
            Entry(start: 0, size: 0x9_fc00, type: .ram),
            Entry(start: 0x9_fc00, size: 0x10_0000 - 0x9_fc00, type: .reserved),
            Entry(start: 0x10_0000, size: 0xc000_0000 - 0x10_0000, type: .ram),
            Entry(start: 0xe000_0000, size: 0x10_0000, type: .reserved),
            Entry(start: 0xfffb_c000, size: 0x4000, type: .reserved),
            Entry(start: 1 << 32, size: (5 << 30) - 0xc000_0000, type: .ram),
        ])
    }

    @Test("for every size, entries are sorted, never overlap, and RAM adds up to the guest's RAM less the BIOS hole",
          arguments: [4 << 20, 64 << 20, 3 << 30, (3 << 30) + (4 << 20), 4 << 30, 64 << 30] as [UInt64])
    func consistent(ram: UInt64) {
        let map = E820Map(ramRegions: Layout.ramRegions(ramSize: ram))
        for (a, b) in zip(map.entries, map.entries.dropFirst()) {
            #expect(a.end <= b.start)
        }
        let usable = map.entries.filter { $0.type == .ram }.reduce(0) { $0 + $1.size }
        #expect(usable == ram - (0x10_0000 - 0x9_fc00))
        // Nothing the VMM reserves for KVM is RAM, and no RAM lies in the MMIO hole.
        for entry in map.entries where entry.type == .ram {
            #expect(entry.end <= Layout.mmioHoleStart.rawValue || entry.start >= Layout.highRAMStart.rawValue)
        }
    }
}
