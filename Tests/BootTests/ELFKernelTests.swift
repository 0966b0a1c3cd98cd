import CUAPI
import Testing
@testable import Boot
import GuestMemory

@Suite("ELF vmlinux: program headers (ELF-64 Object File Format 1.5)")
struct ELFKernelTests {
    let image = Fixtures.elf

    @Test("the test guest's PT_LOAD segment goes to its physical address; entry is e_entry")
    func parsesRealImage() throws {
        let elf = try ELFKernel(parsing: image)
        #expect(elf.segments.count == 1)
        let segment = elf.segments[0]
        #expect(segment.physicalAddress == 0x10_0000)
        #expect(segment.memorySize >= UInt64(segment.bytes.count))
        let offset = Int(Fixtures.read(UInt64.self, image, at: Fixtures.phdr(image, 0, \.p_offset)))
        #expect(Array(segment.bytes) == Array(image[offset..<offset + segment.bytes.count]))
        #expect(elf.entry == Fixtures.read(UInt64.self, image, at: Fixtures.ehdr(\.e_entry)))

        let plan = try BootPlan.plan(kernel: image, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        #expect(plan.format == .elf)
        #expect(plan.cpu.rip == elf.entry)
        #expect(plan.kernelEnd == GuestAddress(0x10_0000 + segment.memorySize))
    }

    @Test("an ELF kernel gets a zero page with a synthesized header: boot flag, HdrS, protocol 2.15")
    func synthesizedHeader() throws {
        let plan = try BootPlan.plan(kernel: image, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        let page = plan.zeroPage
        #expect(page.read(UInt16.self, at: ZeroPageField.bootFlag) == 0xaa55)
        #expect(page.read(UInt32.self, at: ZeroPageField.headerMagic) == 0x5372_6448)
        #expect(page.read(UInt16.self, at: ZeroPageField.version) == 0x020f)
        #expect(page.read(UInt32.self, at: ZeroPageField.kernelAlignment) == 0x100_0000)
        #expect(page.read(UInt32.self, at: ZeroPageField.cmdlineSize) == 2048)
    }

    @Test("a file cut inside the ELF header is truncated")
    func truncated() {
        #expect(throws: BootError.truncated("the file ends inside the ELF header")) {
            try KernelImage(parsing: Array(image.prefix(40)))
        }
    }

    @Test("only 64-bit, little-endian, x86-64 executables are kernels")
    func wrongKinds() {
        let class32 = Fixtures.patch(image, UInt8(ELFCLASS32), at: Int(EI_CLASS))
        #expect(throws: BootError.unsupportedELF("not a 64-bit ELF file")) { try ELFKernel(parsing: class32) }
        let bigEndian = Fixtures.patch(image, UInt8(ELFDATA2MSB), at: Int(EI_DATA))
        #expect(throws: BootError.unsupportedELF("not little-endian")) { try ELFKernel(parsing: bigEndian) }
        let arm = Fixtures.patch(image, UInt16(183), at: Fixtures.ehdr(\.e_machine))  // EM_AARCH64
        #expect(throws: BootError.unsupportedELF("not an x86-64 image (e_machine 183)")) { try ELFKernel(parsing: arm) }
        let shared = Fixtures.patch(image, UInt16(ET_DYN), at: Fixtures.ehdr(\.e_type))
        #expect(throws: BootError.unsupportedELF("not an executable (ET_EXEC) image")) { try ELFKernel(parsing: shared) }
    }

    @Test("program headers smaller than Elf64_Phdr are refused")
    func smallProgramHeaders() {
        let small = Fixtures.patch(image, UInt16(32), at: Fixtures.ehdr(\.e_phentsize))
        #expect(throws: BootError.unsupportedELF("program headers of 32 bytes")) { try ELFKernel(parsing: small) }
    }

    @Test("a program header table past the end of the file is refused")
    func tableOutsideFile() {
        let far = Fixtures.patch(image, UInt64(image.count), at: Fixtures.ehdr(\.e_phoff))
        #expect(throws: BootError.segmentOutsideFile(index: 0)) { try ELFKernel(parsing: far) }
        // An offset so large that adding to it overflows 64 bits.
        let huge = Fixtures.patch(image, UInt64.max - 8, at: Fixtures.ehdr(\.e_phoff))
        #expect(throws: BootError.segmentOutsideFile(index: 0)) { try ELFKernel(parsing: huge) }
    }

    @Test("a segment whose file bytes lie past the end of the file is refused")
    func segmentOutsideFile() {
        let size = Fixtures.patch(image, UInt64(image.count), at: Fixtures.phdr(image, 0, \.p_filesz))
        #expect(throws: BootError.segmentOutsideFile(index: 0)) { try ELFKernel(parsing: size) }
        let offset = Fixtures.patch(image, UInt64.max, at: Fixtures.phdr(image, 0, \.p_offset))
        #expect(throws: BootError.segmentOutsideFile(index: 0)) { try ELFKernel(parsing: offset) }
    }

    @Test("p_filesz larger than p_memsz, or a segment that wraps past 2^64, is refused")
    func inconsistentSizes() {
        let memsz = Fixtures.patch(image, UInt64(1), at: Fixtures.phdr(image, 0, \.p_memsz))
        #expect(throws: BootError.unsupportedELF("segment 0 has p_filesz > p_memsz or wraps around")) {
            try ELFKernel(parsing: memsz)
        }
        let wraps = Fixtures.patch(image, UInt64.max - 0x10, at: Fixtures.phdr(image, 0, \.p_paddr))
        #expect(throws: BootError.unsupportedELF("segment 0 has p_filesz > p_memsz or wraps around")) {
            try ELFKernel(parsing: wraps)
        }
    }

    @Test("an image with no PT_LOAD segment has nothing to load")
    func noLoadSegments() {
        let note = Fixtures.patch(image, UInt32(PT_NOTE), at: Fixtures.phdr(image, 0, \.p_type))
        #expect(throws: BootError.unsupportedELF("no PT_LOAD segments")) { try ELFKernel(parsing: note) }
    }

    @Test("PT_LOAD segments that overlap in memory are refused (found by fuzzing)")
    func overlappingSegments() {
        // The test guest's one segment, then a second whose memory starts inside it.
        let first = Fixtures.phdr(image, 0, \.p_type)
        let phentsize = Int(Fixtures.read(UInt16.self, image, at: Fixtures.ehdr(\.e_phentsize)))
        var twoSegments = Fixtures.patch(image, UInt16(2), at: Fixtures.ehdr(\.e_phnum))
        // The header table is followed by padding in this image: room for one more entry.
        let second = first + phentsize
        #expect(image[second..<second + phentsize].allSatisfy { $0 == 0 })
        twoSegments.replaceSubrange(second..<second + phentsize, with: image[first..<first + phentsize])
        let memsz = Fixtures.read(UInt64.self, image, at: Fixtures.phdr(image, 0, \.p_memsz))
        let inside = UInt64(0x10_0000) + memsz / 2
        twoSegments = Fixtures.patch(twoSegments, inside, at: second + Fixtures.phdr(image, 0, \.p_paddr) - first)
        #expect(throws: BootError.unsupportedELF(
            "PT_LOAD segments at 0x100000 and 0x\(String(inside, radix: 16)) overlap")) {
            try ELFKernel(parsing: twoSegments)
        }
        // The same second segment right after the first is fine.
        let after = Fixtures.patch(twoSegments, UInt64(0x10_0000) + memsz, at: second + Fixtures.phdr(image, 0, \.p_paddr) - first)
        #expect(throws: Never.self) { try ELFKernel(parsing: after) }
    }

    @Test("an entry point outside every loaded segment is refused")
    func entryOutside() {
        let entry = Fixtures.patch(image, UInt64(0x5000_0000), at: Fixtures.ehdr(\.e_entry))
        #expect(throws: BootError.entryOutsideImage(0x5000_0000)) { try ELFKernel(parsing: entry) }
    }

    @Test("segments below 1 MiB or beyond guest RAM are refused, naming the segment and range")
    func segmentsOutsideRAM() {
        let low = Fixtures.patch(image, UInt64(0x8000), at: Fixtures.phdr(image, 0, \.p_paddr))
        let lowEntry = Fixtures.patch(low, UInt64(0x8200), at: Fixtures.ehdr(\.e_entry))
        let memsz = Fixtures.read(UInt64.self, image, at: Fixtures.phdr(image, 0, \.p_memsz))
        #expect(throws: BootError.segmentOutsideRAM(index: 0, start: 0x8000, end: 0x8000 + memsz)) {
            try BootPlan.plan(kernel: lowEntry, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        }
        // One page below the end of a 64 MiB guest, the segment runs past it.
        let top: UInt64 = (64 << 20) - 0x1000
        let high = Fixtures.patch(image, top, at: Fixtures.phdr(image, 0, \.p_paddr))
        let highEntry = Fixtures.patch(high, top + 0x200, at: Fixtures.ehdr(\.e_entry))
        #expect(memsz > 0x1000)
        #expect(throws: BootError.imageLargerThanMemory(needed: top + memsz - (1 << 20), available: 63 << 20)) {
            try BootPlan.plan(kernel: highEntry, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        }
        #expect(throws: Never.self) {
            try BootPlan.plan(kernel: highEntry, initrdSize: nil, commandLine: "", ramSize: 128 << 20)
        }
    }
}
