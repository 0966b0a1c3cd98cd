import CUAPI

/// Byte offsets of the `boot_params` ("zero page") fields SwiftVMM reads or writes,
/// taken from the kernel's own struct (asm/bootparam.h), so they cannot drift from it.
/// Documentation/arch/x86/zero-page.rst and boot.rst, "The Real-Mode Kernel Header",
/// list the same offsets (e820_entries 0x1e8, hdr 0x1f1, e820_table 0x2d0, ...).
enum ZeroPageField {
    static func offset<T>(_ path: KeyPath<boot_params, T>) -> Int {
        guard let offset = MemoryLayout<boot_params>.offset(of: path) else {
            preconditionFailure("not a stored field of boot_params")
        }
        return offset
    }

    static let size = MemoryLayout<boot_params>.size

    static let extRamdiskImage = offset(\.ext_ramdisk_image)
    static let extRamdiskSize = offset(\.ext_ramdisk_size)
    static let extCmdLinePtr = offset(\.ext_cmd_line_ptr)
    static let acpiRSDPAddr = offset(\.acpi_rsdp_addr)
    static let e820Entries = offset(\.e820_entries)
    static let e820Table = offset(\.e820_table)
    /// The setup header, copied from a bzImage at the same offset (0x1f1).
    static let header = offset(\.hdr)
    static let setupSects = offset(\.hdr.setup_sects)
    static let vidMode = offset(\.hdr.vid_mode)
    static let bootFlag = offset(\.hdr.boot_flag)
    static let jump = offset(\.hdr.jump)
    static let headerMagic = offset(\.hdr.header)
    static let version = offset(\.hdr.version)
    static let typeOfLoader = offset(\.hdr.type_of_loader)
    static let loadFlags = offset(\.hdr.loadflags)
    static let code32Start = offset(\.hdr.code32_start)
    static let ramdiskImage = offset(\.hdr.ramdisk_image)
    static let ramdiskSize = offset(\.hdr.ramdisk_size)
    static let heapEndPtr = offset(\.hdr.heap_end_ptr)
    static let cmdLinePtr = offset(\.hdr.cmd_line_ptr)
    static let initrdAddrMax = offset(\.hdr.initrd_addr_max)
    static let kernelAlignment = offset(\.hdr.kernel_alignment)
    static let relocatableKernel = offset(\.hdr.relocatable_kernel)
    static let xLoadFlags = offset(\.hdr.xloadflags)
    static let cmdlineSize = offset(\.hdr.cmdline_size)
    static let prefAddress = offset(\.hdr.pref_address)
    static let initSize = offset(\.hdr.init_size)

    /// Size in bytes of one e820 entry in the zero page (u64 addr, u64 size, u32 type).
    static let e820EntrySize = MemoryLayout<boot_e820_entry>.size
    static let e820MaxEntries = Int(E820_MAX_ENTRIES_ZEROPAGE)
}
