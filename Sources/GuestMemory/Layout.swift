/// Every fixed guest physical address SwiftVMM uses, in one place.
///
/// ```
///  guest physical address                        what is there
///  0x0000_0000 +----------------------------+
///              | real-mode IVT, BIOS data   |  left zero
///  0x0000_0500 +----------------------------+
///              | boot GDT (5 entries)       |  gdt
///  0x0000_0540 | boot IDT (empty)           |  idt
///  0x0000_7000 +----------------------------+
///              | zero page (boot_params)    |  zeroPage, 4 KiB
///  0x0000_8000 | initial stack, grows down  |  bootStackTop = 0x8ff0
///  0x0000_9000 +----------------------------+
///              | PML4, PDPT, 4 page dirs    |  pageTables, 6 pages,
///              |                            |  identity map of 0-4 GiB
///  0x0002_0000 +----------------------------+
///              | kernel command line        |  commandLine, up to 64 KiB
///  0x0003_0000 +----------------------------+
///              | free                       |
///  0x0009_fc00 +----------------------------+  ebdaStart: RAM ends here (e820)
///              | EBDA, VGA, BIOS ROM        |  reserved in e820
///  0x0010_0000 +----------------------------+  kernelStart (1 MiB)
///              | kernel, then free RAM,     |
///              | initrd at the top          |
///  lowRAMEnd   +----------------------------+  min(RAM size, mmioHoleStart)
///              :                            :
///  0xc000_0000 +----------------------------+  mmioHoleStart
///              | MMIO hole: devices (BARs), |
///              | KVM's TSS and identity map |  kvmIdentityMap, kvmTSS
///              | I/O APIC 0xfec0_0000,      |
///              | local APIC 0xfee0_0000     |
/// 0x1_0000_0000+----------------------------+  highRAMStart (4 GiB)
///              | RAM above 4 GiB, if any    |
///              +----------------------------+
/// ```
///
/// Low-memory placement follows the conventions of the Linux boot protocol
/// (Documentation/arch/x86/boot.rst, "Memory layout of the real-mode code") and of other
/// minimal VMMs: boot data below 640 KiB, the kernel at 1 MiB.
public enum Layout {
    // MARK: Boot data below 640 KiB

    /// The boot GDT: two null entries, then 64-bit code (selector 0x10), data (0x18)
    /// and a TSS (0x20), 8 bytes each.
    public static let gdt = GuestAddress(0x500)
    /// An empty IDT; the kernel installs its own before enabling interrupts.
    public static let idt = GuestAddress(0x540)
    /// The zero page: `struct boot_params`, whose address the 64-bit entry takes in RSI.
    public static let zeroPage = GuestAddress(0x7000)
    /// Top of the small stack SwiftVMM gives a kernel at entry (16-byte aligned).
    public static let bootStackTop = GuestAddress(0x8ff0)
    /// The identity-mapping page tables: PML4, then PDPT, then one page directory
    /// per GiB of the first 4 GiB (2 MiB pages).
    public static let pageTables = GuestAddress(0x9000)
    /// The page tables' footprint: PML4 + PDPT + 4 page directories.
    public static let pageTablesSize: UInt64 = 6 * pageSize
    /// The kernel command line, NUL-terminated.
    public static let commandLine = GuestAddress(0x2_0000)
    /// The most command line SwiftVMM can place (the kernel's own `cmdline_size` limit
    /// is usually far smaller and is checked too).
    public static let commandLineCapacity: UInt64 = 0x1_0000
    /// Start of the Extended BIOS Data Area: conventional RAM ends here in the e820 map.
    public static let ebdaStart = GuestAddress(0x9_fc00)

    // MARK: The kernel

    /// Where the kernel's protected-mode code is loaded: 1 MiB, as boot.rst specifies
    /// for a bzImage (`code32_start` default) and where vmlinux's PT_LOADs usually ask.
    public static let kernelStart = GuestAddress(0x10_0000)

    // MARK: The MMIO hole and RAM above 4 GiB

    /// RAM stops here below 4 GiB; the space up to 4 GiB belongs to devices.
    public static let mmioHoleStart = GuestAddress(0xc000_0000)
    /// RAM resumes at 4 GiB when the guest has more than fits below the hole.
    public static let highRAMStart = GuestAddress(0x1_0000_0000)
    /// KVM's identity-map page (KVM_SET_IDENTITY_MAP_ADDR): one page, needed by
    /// hosts that run real mode through an identity map (Intel without unrestricted guest).
    public static let kvmIdentityMap = GuestAddress(0xfffb_c000)
    /// KVM's TSS area (KVM_SET_TSS_ADDR): three pages, directly after the identity map.
    public static let kvmTSS = GuestAddress(0xfffb_d000)
    /// Size of the KVM identity map and TSS together; reserved in the e820 map.
    public static let kvmPrivateSize: UInt64 = 4 * pageSize
    /// The I/O APIC's registers (Intel 82093AA datasheet, default base).
    public static let ioAPIC = GuestAddress(0xfec0_0000)
    /// The local APIC's registers (Intel SDM vol. 3A, 11.4.1, default base).
    public static let localAPIC = GuestAddress(0xfee0_0000)

    // MARK: Units

    public static let pageSize: UInt64 = 0x1000
    public static let mebibyte: UInt64 = 1 << 20
    public static let gibibyte: UInt64 = 1 << 30

    // MARK: RAM regions

    /// The guest RAM regions for `ramSize` bytes: all of it below the MMIO hole when it
    /// fits, otherwise split into [0, mmioHoleStart) and [4 GiB, 4 GiB + rest).
    public static func ramRegions(ramSize: UInt64) -> [(start: GuestAddress, size: UInt64)] {
        let lowLimit = mmioHoleStart.rawValue
        if ramSize <= lowLimit { return [(GuestAddress(0), ramSize)] }
        return [(GuestAddress(0), lowLimit), (highRAMStart, ramSize - lowLimit)]
    }
}
