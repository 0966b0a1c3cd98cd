import GuestMemory

/// A kernel file, whichever its format, reduced to what the boot plan needs: what to
/// load where, where to enter, and the limits the kernel declares.
struct KernelImage {
    struct Segment {
        let address: UInt64
        let bytes: ArraySlice<UInt8>
        let memorySize: UInt64
    }

    let format: BootPlan.KernelFormat
    let segments: [Segment]
    let entry: UInt64
    /// First address past everything the kernel occupies while it starts.
    let end: UInt64
    /// The bzImage setup header to copy into the zero page (nil for ELF).
    let setupHeader: [UInt8]?
    let commandLineSize: Int
    let initrdAddressMax: UInt32

    init(parsing file: [UInt8]) throws(BootError) {
        if ELFKernel.looksLikeELF(file) {
            let elf = try ELFKernel(parsing: file)
            format = .elf
            segments = elf.segments.map {
                Segment(address: $0.physicalAddress, bytes: $0.bytes, memorySize: $0.memorySize)
            }
            entry = elf.entry
            end = segments.map { $0.address + $0.memorySize }.max()!
            setupHeader = nil
            commandLineSize = BootProtocol.defaultCommandLineSize
            initrdAddressMax = BootProtocol.defaultInitrdAddrMax
        } else if BzImage.looksLikeBzImage(file) {
            let image = try BzImage(parsing: file)
            let load = image.loadAddress
            format = .bzImage
            segments = [Segment(address: load, bytes: image.payload, memorySize: UInt64(image.payload.count))]
            entry = load + BootProtocol.entry64Offset
            // The kernel occupies what was loaded, and init_size bytes from where it runs
            // (which may be above the load address: it moves itself there).
            let (runtimeEnd, overflow) = image.runtimeStart.addingReportingOverflow(image.initSize)
            guard !overflow else { throw .unsupportedProtocol("init_size 0x\(String(image.initSize, radix: 16)) runs past 2^64") }
            end = max(load + UInt64(image.payload.count), runtimeEnd)
            setupHeader = image.header
            commandLineSize = image.commandLineSize
            initrdAddressMax = image.initrdAddressMax
        } else {
            throw .notAKernel
        }
    }
}
