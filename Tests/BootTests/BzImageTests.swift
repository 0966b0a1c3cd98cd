import Testing
@testable import Boot
import GuestMemory

@Suite("bzImage: the setup header (Documentation/arch/x86/boot.rst)")
struct BzImageTests {
    @Test("the test guest's header parses: protocol 2.15, loaded at code32_start, the rest is the kernel")
    func parsesRealImage() throws {
        let image = try BzImage(parsing: Fixtures.bzImage)
        #expect(image.version == 0x020f)
        #expect(image.loadAddress == 0x10_0000)
        // setup_sects = 1: the boot sector and one setup sector precede the kernel.
        #expect(image.payload.count == Fixtures.bzImage.count - 2 * 512)
        #expect(Array(image.payload) == Array(Fixtures.bzImage[1024...]))
        #expect(image.commandLineSize == 2047)
        #expect(image.initrdAddressMax == 0x7fff_ffff)
        #expect(image.initSize >= UInt64(image.payload.count))
        // The header copied into the zero page runs from 0x1f1 to the jump's target.
        #expect(image.header.count == 0x26c - 0x1f1)
    }

    @Test("boot.rst, 64-bit boot protocol: the entry is code32_start + 0x200, the kernel goes at code32_start")
    func entryAndLoadAddress() throws {
        let plan = try BootPlan.plan(kernel: Fixtures.bzImage, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        #expect(plan.format == .bzImage)
        #expect(plan.cpu.rip == 0x10_0200)
        let kernel = try #require(plan.writes.first { $0.what == "kernel" })
        #expect(kernel.address == GuestAddress(0x10_0000))
        #expect(kernel.bytes.count == Fixtures.bzImage.count - 1024)

        // A loader honours the header's code32_start, not a fixed 1 MiB.
        let moved = Fixtures.patch(Fixtures.bzImage, UInt32(0x20_0000), at: ZeroPageField.code32Start)
        let movedPlan = try BootPlan.plan(kernel: moved, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        #expect(movedPlan.cpu.rip == 0x20_0200)
        #expect(movedPlan.writes.first { $0.what == "kernel" }?.address == GuestAddress(0x20_0000))
    }

    @Test("a file that is neither ELF nor bzImage is not a kernel")
    func notAKernel() {
        #expect(throws: BootError.notAKernel) {
            try KernelImage(parsing: Array("#!/bin/sh\necho hello\n".utf8))
        }
        #expect(throws: BootError.notAKernel) { try KernelImage(parsing: []) }
        // An 0xAA55 boot sector without "HdrS" is a boot sector, not a Linux kernel.
        let bootSectorOnly = Fixtures.patch(Fixtures.bzImage, UInt32(0), at: ZeroPageField.headerMagic)
        #expect(throws: BootError.notAKernel) { try KernelImage(parsing: bootSectorOnly) }
    }

    @Test("a file cut inside the setup header is truncated")
    func truncatedHeader() {
        let cut = Array(Fixtures.bzImage.prefix(0x240))
        #expect(throws: BootError.truncated("the file ends inside the bzImage setup header")) {
            try BzImage(parsing: cut)
        }
    }

    @Test("a header whose jump ends it before init_size is shorter than protocol 2.12 requires")
    func shortHeader() {
        // The jump at 0x200 says where the header ends: here at 0x230, before init_size.
        let short = Fixtures.patch(Fixtures.bzImage, UInt8(0x230 - 0x202), at: ZeroPageField.jump + 1)
        #expect(throws: BootError.truncated("the setup header is shorter than protocol 2.12 requires")) {
            try BzImage(parsing: short)
        }
    }

    @Test("protocols before 2.12 have no 64-bit entry point and are refused, naming the version")
    func oldProtocol() {
        let old = Fixtures.patch(Fixtures.bzImage, UInt16(0x0209), at: ZeroPageField.version)
        #expect(throws: BootError.unsupportedProtocol(
            "boot protocol 2.09 is older than 2.12, which has no 64-bit entry point")) {
            try BzImage(parsing: old)
        }
        let justNewEnough = Fixtures.patch(Fixtures.bzImage, UInt16(0x020c), at: ZeroPageField.version)
        #expect(throws: Never.self) { try BzImage(parsing: justNewEnough) }
    }

    @Test("without XLF_KERNEL_64 in xloadflags there is no 64-bit entry")
    func no64BitEntry() {
        let image = Fixtures.patch(Fixtures.bzImage, UInt16(0), at: ZeroPageField.xLoadFlags)
        #expect(throws: BootError.unsupportedProtocol("XLF_KERNEL_64 is not set: this kernel has no 64-bit entry point")) {
            try BzImage(parsing: image)
        }
    }

    @Test("without LOADED_HIGH the image is a zImage")
    func zImage() {
        let image = Fixtures.patch(Fixtures.bzImage, UInt8(0), at: ZeroPageField.loadFlags)
        #expect(throws: BootError.unsupportedProtocol("LOADED_HIGH is not set: a zImage, not a bzImage")) {
            try BzImage(parsing: image)
        }
    }

    @Test("code32_start below 1 MiB would overwrite the boot data and is refused")
    func lowLoadAddress() {
        let image = Fixtures.patch(Fixtures.bzImage, UInt32(0x8000), at: ZeroPageField.code32Start)
        #expect(throws: BootError.unsupportedProtocol("code32_start 0x8000 is below 1 MiB, where boot data lives")) {
            try BzImage(parsing: image)
        }
    }

    @Test("a file that ends with its setup sectors has no kernel")
    func noPayload() {
        let setupOnly = Array(Fixtures.bzImage.prefix(1024))
        #expect(throws: BootError.truncated("the file ends inside the 1 setup sectors; no protected-mode kernel follows")) {
            try BzImage(parsing: setupOnly)
        }
        // setup_sects = 0 means 4 (boot.rst, "setup_sects"): 2560 bytes before the kernel.
        let zeroSects = Fixtures.patch(Fixtures.bzImage, UInt8(0), at: ZeroPageField.setupSects)
        #expect(throws: BootError.truncated("the file ends inside the 4 setup sectors; no protected-mode kernel follows")) {
            try BzImage(parsing: Array(zeroSects.prefix(2048)))
        }
    }

    @Test("a kernel too short to hold its 64-bit entry at +0x200 is truncated (found by fuzzing)")
    func noRoomForEntry() {
        let short = Array(Fixtures.bzImage.prefix(1024 + 0x200))
        #expect(throws: BootError.truncated("the protected-mode kernel ends before its 64-bit entry point at +0x200")) {
            try BzImage(parsing: short)
        }
        #expect(throws: Never.self) { try BzImage(parsing: Array(Fixtures.bzImage.prefix(1024 + 0x201))) }
    }

    @Test("boot.rst init_size: a relocatable kernel needs init_size bytes from where it runs, pref_address aligned up")
    func runtimeStart() throws {
        // Debian's cloud kernel: relocatable, pref_address 16 MiB, 2 MiB alignment,
        // init_size 0x3378000: it runs at 16 MiB and needs memory up to 0x4378000.
        var debianLike = Fixtures.patch(Fixtures.bzImage, UInt8(1), at: ZeroPageField.relocatableKernel)
        debianLike = Fixtures.patch(debianLike, UInt64(0x100_0000), at: ZeroPageField.prefAddress)
        debianLike = Fixtures.patch(debianLike, UInt32(0x20_0000), at: ZeroPageField.kernelAlignment)
        debianLike = Fixtures.patch(debianLike, UInt32(0x337_8000), at: ZeroPageField.initSize)
        #expect(throws: BootError.imageLargerThanMemory(needed: 0x437_8000 - 0x10_0000, available: 63 << 20)) {
            try BootPlan.plan(kernel: debianLike, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        }
        let plan = try BootPlan.plan(kernel: debianLike, initrdSize: 1 << 20, commandLine: "", ramSize: 128 << 20)
        #expect(plan.kernelEnd == GuestAddress(0x437_8000))
        #expect(try #require(plan.initrd).address >= GuestAddress(0x437_8000))
        // Not relocatable: it runs at pref_address, wherever it was loaded.
        let fixed = Fixtures.patch(debianLike, UInt8(0), at: ZeroPageField.relocatableKernel)
        #expect(try BootPlan.plan(kernel: fixed, initrdSize: nil, commandLine: "", ramSize: 128 << 20).kernelEnd
            == GuestAddress(0x437_8000))
        // Loaded above pref_address, a relocatable kernel runs where it was loaded, aligned up.
        let high = Fixtures.patch(debianLike, UInt32(0x110_0000), at: ZeroPageField.code32Start)
        #expect(try BootPlan.plan(kernel: high, initrdSize: nil, commandLine: "", ramSize: 128 << 20).kernelEnd
            == GuestAddress(0x120_0000 + 0x337_8000))
    }

    @Test("a kernel whose init_size does not fit below the MMIO hole needs more memory")
    func largerThanMemory() {
        // init_size: 64 MiB of working memory from the load address, in a 16 MiB guest.
        let big = Fixtures.patch(Fixtures.bzImage, UInt32(64 << 20), at: ZeroPageField.initSize)
        #expect(throws: BootError.imageLargerThanMemory(needed: 64 << 20, available: 15 << 20)) {
            try BootPlan.plan(kernel: big, initrdSize: nil, commandLine: "", ramSize: 16 << 20)
        }
        #expect(throws: Never.self) {
            try BootPlan.plan(kernel: big, initrdSize: nil, commandLine: "", ramSize: 128 << 20)
        }
    }
}
