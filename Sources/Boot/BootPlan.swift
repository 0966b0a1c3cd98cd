import GuestMemory

/// What to put where in guest memory, and the registers to start the boot processor
/// with, to boot a Linux kernel. Computing a plan touches no guest memory
/// (`plan(kernel:...)`); writing it is a separate step (`apply(to:)`).
public struct BootPlan: Sendable {
    /// Bytes to copy into guest memory.
    public struct MemoryWrite: Sendable {
        public let address: GuestAddress
        public let bytes: ArraySlice<UInt8>
        /// What the bytes are, for messages and the memory map.
        public let what: String
    }

    /// Which kind of kernel image the plan loads.
    public enum KernelFormat: String, Sendable {
        case bzImage
        case elf = "ELF vmlinux"
    }

    public let format: KernelFormat
    public let writes: [MemoryWrite]
    /// Where the initrd goes; the caller copies the file there itself (it can be large).
    public let initrd: (address: GuestAddress, size: UInt64)?
    public let cpu: BootCPUState
    public let e820: E820Map
    /// The ACPI tables, among `writes`; the zero page points at their RSDP.
    public let acpiTables: ACPITables
    /// The first address past the kernel (its loaded image, or load address + init_size).
    public let kernelEnd: GuestAddress

    /// One line for messages: "bzImage, entry 0x100200, kernel 0x100000-0x1e00000, ...".
    public var summary: String {
        var text = "\(format.rawValue), entry 0x\(String(cpu.rip, radix: 16)), kernel up to \(kernelEnd)"
        if let initrd { text += ", initrd \(initrd.size) bytes at \(initrd.address)" }
        return text
    }

    /// Plans a boot of `kernel` (a bzImage or ELF vmlinux file's bytes) in `ramSize` bytes
    /// of guest RAM laid out as `Layout.ramRegions(ramSize:)`, with an initrd of
    /// `initrdSize` bytes and `commandLine`, on a machine of `vcpuCount` vCPUs and the
    /// devices `platform` describes to the guest's ACPI.
    public static func plan(
        kernel file: [UInt8], initrdSize: UInt64?, commandLine: String, ramSize: UInt64,
        vcpuCount: Int = 1, platform: ACPIPlatform = ACPIPlatform()
    ) throws(BootError) -> BootPlan {
        let regions = Layout.ramRegions(ramSize: ramSize)
        let lowRAMEnd = regions[0].start.rawValue + regions[0].size
        let kernel = try KernelImage(parsing: file)
        let kernelStart = Layout.kernelStart.rawValue

        // The kernel must lie in RAM above the boot data, below the MMIO hole.
        let available = lowRAMEnd > kernelStart ? lowRAMEnd - kernelStart : 0
        var writes: [MemoryWrite] = []
        for (index, segment) in kernel.segments.enumerated() {
            let end = segment.address + segment.memorySize  // no overflow: checked by the parser
            guard segment.address >= kernelStart else {
                throw .segmentOutsideRAM(index: index, start: segment.address, end: end)
            }
            guard end <= lowRAMEnd else {
                throw .imageLargerThanMemory(needed: end - kernelStart, available: available)
            }
            writes.append(MemoryWrite(address: GuestAddress(segment.address), bytes: segment.bytes, what: "kernel"))
        }
        guard kernel.end <= lowRAMEnd else {
            throw .imageLargerThanMemory(needed: kernel.end - kernelStart, available: available)
        }

        // The command line, NUL-terminated, no longer than the kernel's cmdline_size.
        let limit = min(kernel.commandLineSize, Int(Layout.commandLineCapacity) - 1)
        let commandLineBytes = Array(commandLine.utf8)
        guard commandLineBytes.count <= limit else {
            throw .commandLineTooLong(length: commandLineBytes.count, limit: limit)
        }

        // The initrd: page-aligned, as high as allowed, above the kernel.
        var initrd: (address: GuestAddress, size: UInt64)? = nil
        if let size = initrdSize {
            guard size > 0 else { throw .emptyInitrd }
            let top = min(UInt64(kernel.initrdAddressMax) + 1, lowRAMEnd)
            let bottom = GuestAddress(kernel.end).alignedUp(to: Layout.pageSize)!.rawValue
            let room = top > bottom ? top - bottom : 0
            guard size <= room, let address = Optional(GuestAddress(top - size).alignedDown(to: Layout.pageSize)),
                  address.rawValue >= bottom
            else { throw .initrdTooLarge(size: size, room: room) }
            initrd = (address, size)
        }

        let acpi = try ACPITables.build(vcpuCount: vcpuCount, platform: platform)
        let e820 = E820Map(ramRegions: regions)
        let zeroPage = ZeroPage.bytes(.init(
            header: kernel.setupHeader, commandLineSize: kernel.commandLineSize, initrd: initrd, e820: e820,
            acpiRSDP: acpi.rsdpAddress))
        writes += [
            MemoryWrite(address: Layout.gdt, bytes: GDT.bytes[...], what: "boot GDT"),
            MemoryWrite(address: Layout.pageTables, bytes: PageTables.bytes[...], what: "page tables"),
            MemoryWrite(address: Layout.zeroPage, bytes: zeroPage[...], what: "zero page"),
            MemoryWrite(address: Layout.commandLine, bytes: (commandLineBytes + [0])[...], what: "command line"),
            MemoryWrite(address: Layout.resetVector, bytes: ResetVector.code[...], what: "reset vector"),
        ] + acpi.writes
        return BootPlan(
            format: kernel.format, writes: writes, initrd: initrd,
            cpu: .longMode(entry: GuestAddress(kernel.entry)), e820: e820, acpiTables: acpi,
            kernelEnd: GuestAddress(kernel.end))
    }

    /// Writes the plan into guest memory. Guest RAM starts zeroed (a fresh anonymous
    /// mapping), so the kernel's bss needs no write.
    public func apply(to memory: GuestMemory) throws(GuestMemoryError) {
        for write in writes { try memory.write(bytes: write.bytes, at: write.address) }
    }
}
