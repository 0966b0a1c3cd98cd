import GuestMemory

/// A bzImage: the format distributions ship as vmlinuz. A real-mode setup part (with the
/// setup header at 0x1f1) followed by the protected-mode kernel, which SwiftVMM loads at
/// `code32_start` (1 MiB in every bzImage) and enters at its 64-bit entry point, 0x200
/// further (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL").
struct BzImage {
    /// The setup header's bytes, 0x1f1 up to its end, to copy into the zero page.
    let header: [UInt8]
    let version: UInt16
    /// The protected-mode kernel: everything after the setup sectors.
    let payload: ArraySlice<UInt8>
    /// code32_start: where the protected-mode kernel is loaded ("the load address of the
    /// kernel"); the 64-bit entry is `BootProtocol.entry64Offset` past it.
    let loadAddress: UInt64
    /// init_size: how much memory the kernel needs, from its runtime start, before it
    /// can examine its memory map (it decompresses itself into this).
    let initSize: UInt64
    /// Where the kernel runs once it has moved itself: boot.rst, "init_size": for a
    /// relocatable kernel, the load address raised to pref_address if below it, then
    /// aligned up to kernel_alignment; otherwise pref_address.
    let runtimeStart: UInt64
    let commandLineSize: Int
    let initrdAddressMax: UInt32

    /// True when `file` starts like a bzImage (boot flag and "HdrS"); says nothing of
    /// whether it is a usable one.
    static func looksLikeBzImage(_ file: [UInt8]) -> Bool {
        let fields = ByteFields(Array(file.prefix(ZeroPageField.headerMagic + 4)))
        return fields.read(UInt16.self, at: ZeroPageField.bootFlag) == BootProtocol.bootFlag
            && fields.read(UInt32.self, at: ZeroPageField.headerMagic) == BootProtocol.headerMagic
    }

    init(parsing file: [UInt8]) throws(BootError) {
        let fields = ByteFields(file)
        guard let jump = fields.read(UInt16.self, at: ZeroPageField.jump) else {
            throw .truncated("the file ends inside the bzImage setup header")
        }
        // The header runs from 0x1f1 to the target of the 2-byte jump at 0x200: byte 0x201
        // is the jump's displacement from 0x202 (boot.rst, "jump").
        let headerEnd = ZeroPageField.headerMagic + Int(jump >> 8)
        guard headerEnd <= file.count, let version = fields.read(UInt16.self, at: ZeroPageField.version) else {
            throw .truncated("the file ends inside the bzImage setup header")
        }
        guard version >= BootProtocol.minimumVersion else {
            throw .unsupportedProtocol(
                "boot protocol \(version >> 8).\(String(format2: version & 0xff)) is older than 2.12, which has no 64-bit entry point")
        }
        guard let xloadflags = fields.read(UInt16.self, at: ZeroPageField.xLoadFlags),
              let loadflags = fields.read(UInt8.self, at: ZeroPageField.loadFlags),
              let setupSects = fields.read(UInt8.self, at: ZeroPageField.setupSects),
              let initSize = fields.read(UInt32.self, at: ZeroPageField.initSize),
              let relocatable = fields.read(UInt8.self, at: ZeroPageField.relocatableKernel),
              let preferred = fields.read(UInt64.self, at: ZeroPageField.prefAddress),
              let alignment = fields.read(UInt32.self, at: ZeroPageField.kernelAlignment),
              let cmdlineSize = fields.read(UInt32.self, at: ZeroPageField.cmdlineSize),
              let initrdMax = fields.read(UInt32.self, at: ZeroPageField.initrdAddrMax),
              let code32Start = fields.read(UInt32.self, at: ZeroPageField.code32Start),
              headerEnd >= ZeroPageField.initSize + 4
        else { throw .truncated("the setup header is shorter than protocol 2.12 requires") }
        guard xloadflags & BootProtocol.xlfKernel64 != 0 else {
            throw .unsupportedProtocol("XLF_KERNEL_64 is not set: this kernel has no 64-bit entry point")
        }
        guard loadflags & BootProtocol.loadedHigh != 0 else {
            throw .unsupportedProtocol("LOADED_HIGH is not set: a zImage, not a bzImage")
        }
        // The protected-mode kernel goes above the real-mode area and the boot data.
        guard UInt64(code32Start) >= Layout.kernelStart.rawValue else {
            throw .unsupportedProtocol(
                "code32_start 0x\(String(code32Start, radix: 16)) is below 1 MiB, where boot data lives")
        }
        let sectors = setupSects == 0 ? BootProtocol.defaultSetupSects : Int(setupSects)
        let payloadStart = (sectors + 1) * BootProtocol.sectorSize
        guard payloadStart < file.count else {
            throw .truncated("the file ends inside the \(sectors) setup sectors; no protected-mode kernel follows")
        }
        // The 64-bit entry is 0x200 bytes into the protected-mode kernel: a shorter one
        // would send the CPU past the end of what was loaded.
        guard UInt64(file.count - payloadStart) > BootProtocol.entry64Offset else {
            throw .truncated("the protected-mode kernel ends before its 64-bit entry point at +0x200")
        }
        self.header = Array(file[ZeroPageField.header..<headerEnd])
        self.version = version
        self.payload = file[payloadStart...]
        self.loadAddress = UInt64(code32Start)
        self.initSize = UInt64(initSize)
        if relocatable != 0 {
            // kernel_alignment is a power of two in every real header; anything else is
            // taken as no alignment at all rather than trusted.
            let start = GuestAddress(max(UInt64(code32Start), preferred))
            let align = alignment.nonzeroBitCount == 1 ? UInt64(alignment) : 1
            guard let aligned = start.alignedUp(to: align) else {
                throw .unsupportedProtocol("pref_address 0x\(String(preferred, radix: 16)) is beyond any RAM")
            }
            self.runtimeStart = aligned.rawValue
        } else {
            self.runtimeStart = preferred
        }
        self.commandLineSize = Int(cmdlineSize)
        self.initrdAddressMax = initrdMax
    }
}

extension String {
    /// Two decimal digits, for protocol minor versions ("2.05").
    init(format2 value: UInt16) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}
