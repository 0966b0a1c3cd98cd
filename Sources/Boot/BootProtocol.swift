/// Constants of the Linux x86 boot protocol (Documentation/arch/x86/boot.rst), in one place.
enum BootProtocol {
    /// "boot_flag": 0xAA55 at offset 0x1fe, the old boot-sector signature.
    static let bootFlag: UInt16 = 0xaa55
    /// "header": the magic "HdrS" at 0x202, read as a little-endian u32.
    static let headerMagic: UInt32 = 0x5372_6448
    /// The first protocol with `xloadflags`, so the first that can say XLF_KERNEL_64.
    static let minimumVersion: UInt16 = 0x020c
    /// The protocol version SwiftVMM writes into a synthesized header (for ELF kernels).
    static let synthesizedVersion: UInt16 = 0x020f
    /// "setup_sects": 0 means 4, for compatibility with ancient kernels.
    static let defaultSetupSects = 4
    static let sectorSize = 512
    /// The 64-bit entry point is 0x200 bytes into the protected-mode kernel
    /// ("64-bit BOOT PROTOCOL": startup_64 at load address + 0x200).
    static let entry64Offset: UInt64 = 0x200

    /// loadflags bit 0, LOADED_HIGH: the protected-mode code is loaded at 0x100000.
    static let loadedHigh: UInt8 = 1 << 0
    /// loadflags bit 7, CAN_USE_HEAP: heap_end_ptr is valid.
    static let canUseHeap: UInt8 = 1 << 7
    /// xloadflags bit 0, XLF_KERNEL_64: the kernel has the 64-bit entry at +0x200.
    static let xlfKernel64: UInt16 = 1 << 0

    /// type_of_loader 0xff: "undefined" boot loader (boot.rst, "type_of_loader").
    static let undefinedLoader: UInt8 = 0xff
    /// heap_end_ptr: the end of the setup heap relative to the real-mode code, minus
    /// 0x200, as boot.rst's example loader sets it.
    static let heapEnd: UInt16 = 0xfe00
    /// vid_mode 0xffff: "normal" VGA mode, no mode change asked.
    static let normalVideoMode: UInt16 = 0xffff
    /// initrd_addr_max before protocol 2.03 (and for ELF kernels, which lack a header).
    static let defaultInitrdAddrMax: UInt32 = 0x37ff_ffff
    /// cmdline_size before protocol 2.06, and what SwiftVMM assumes for ELF kernels
    /// (x86-64's COMMAND_LINE_SIZE).
    static let defaultCommandLineSize = 2048
    /// kernel_alignment SwiftVMM reports for an ELF kernel (CONFIG_PHYSICAL_ALIGN default).
    static let elfKernelAlignment: UInt32 = 0x100_0000
}
