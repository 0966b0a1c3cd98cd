/// Every fixed guest physical address SwiftVMM uses, in one place.
///
/// ```
///  guest physical address                        what is there
///  0x0000_0000 +----------------------------+
///              | real-mode IVT, BIOS data   |  left zero
///  0x0000_0500 +----------------------------+
///              | boot GDT (6 slots)         |  gdt
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
///              | EBDA, VGA window           |  reserved in e820
///  0x000e_0000 +----------------------------+  acpiTables
///              | ACPI: RSDP, XSDT, FADT,    |  up to acpiTablesCapacity
///              | DSDT, MADT                 |  (the BIOS area, reserved)
///  0x000f_fff0 | reset vector (16 bytes)    |  resetVector
///  0x0010_0000 +----------------------------+  kernelStart (1 MiB)
///              | kernel, then free RAM,     |
///              | initrd at the top          |
///  lowRAMEnd   +----------------------------+  min(RAM size, mmioHoleStart)
///              :                            :
///  0xc000_0000 +----------------------------+  mmioHoleStart, pciMMIOWindow
///              | PCI BARs (256 MiB)         |
///  0xd000_0000 +----------------------------+  virtioMMIODevices
///              | virtio-mmio, 4 KiB each    |
///              :                            :
///  0xe000_0000 | PCI ECAM, bus 0 (1 MiB)    |  pciECAM (reserved in e820)
///              :                            :
///  0xfe00_0000 | never a device (one page)  |  unbackedMMIO
///  0xfec0_0000 | I/O APIC                   |  ioAPIC
///  0xfee0_0000 | local APIC                 |  localAPIC
///  0xfffb_c000 | KVM's identity map and TSS |  kvmIdentityMap, kvmTSS (4 pages,
///              |                            |  reserved in e820)
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

    /// The boot GDT: two null entries, then 64-bit code (selector 0x10) and data (0x18),
    /// 8 bytes each, and a TSS (0x20), whose long-mode descriptor takes 16: 48 bytes.
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

    // MARK: ACPI tables

    /// Where the ACPI tables go, RSDP first: an OS that is not handed the RSDP's address
    /// (boot_params.acpi_rsdp_addr) searches for it on 16-byte boundaries in the BIOS
    /// area 0xE0000-0xFFFFF (ACPI 6.5, 5.2.5.1 "Finding the RSDP on IA-PC Systems").
    /// The range lies in the e820 map's reserved hole below 1 MiB.
    public static let acpiTables = GuestAddress(0xe_0000)
    /// Room for the tables: up to 0xF0000, leaving the top 64 KiB of the BIOS area free.
    public static let acpiTablesCapacity: UInt64 = 0x1_0000

    /// The real-mode reset vector, F000:FFF0: where a PC's firmware begins after a reset,
    /// and where Linux jumps when its other ways to restart the machine have not worked
    /// (`machine_real_restart`, arch/x86/kernel/reboot.c). The last 16 bytes below 1 MiB,
    /// in the reserved BIOS area. SwiftVMM has no firmware; `ResetVector` puts there the
    /// one thing firmware would end up doing: resetting the machine.
    public static let resetVector = GuestAddress(0xf_fff0)

    // MARK: The MMIO hole and RAM above 4 GiB

    /// RAM stops here below 4 GiB; the space up to 4 GiB belongs to devices.
    public static let mmioHoleStart = GuestAddress(0xc000_0000)
    /// The window PCI BARs are placed in: the first 256 MiB of the hole.
    public static let pciMMIOWindow = GuestAddress(0xc000_0000)
    public static let pciMMIOWindowSize: UInt64 = 0x1000_0000
    /// virtio-mmio devices, one `virtioMMIODeviceSize` page each, from here up.
    public static let virtioMMIODevices = GuestAddress(0xd000_0000)
    /// Each virtio-mmio device's register page (virtio v1.2, 4.2.2: registers up to 0x100,
    /// then the device-specific configuration space).
    public static let virtioMMIODeviceSize: UInt64 = 0x1000
    /// Firecracker's boot timer (`--boot-timer`), where its guests' init programs write:
    /// the first page of Firecracker's MMIO device area, which is this machine's first
    /// virtio-mmio slot. With the timer there, the virtio-mmio devices start a page later.
    public static let bootTimer = GuestAddress(0xd000_0000)
    /// PCI Express's memory-mapped configuration space (ECAM) for bus 0: 4 KiB per
    /// function, 32 devices of 8 functions (PCI Express Base Specification 4.0, 7.2.2).
    /// The MCFG table points here; the e820 map reserves it, as Linux wants of an MCFG
    /// region (arch/x86/pci/mmconfig-shared.c, pci_mmcfg_check_reserved).
    public static let pciECAM = GuestAddress(0xe000_0000)
    public static let pciECAMSize: UInt64 = 0x10_0000
    /// A page in the hole that no device is ever placed at, so guest accesses there
    /// exit to the VMM and reach nothing: the test guest's `testguest.mmio=N` writes
    /// here to measure the MMIO exit round trip (benchmarks/, docs/PERFORMANCE.md).
    public static let unbackedMMIO = GuestAddress(0xfe00_0000)
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
    /// The I/O APIC's ID, as the MADT states it: 0, the ID register's value after
    /// KVM's reset of its in-kernel I/O APIC (an ID the guest may reprogram).
    public static let ioAPICID: UInt8 = 0
    /// The local APIC's registers (Intel SDM vol. 3A, 11.4.1, default base).
    public static let localAPIC = GuestAddress(0xfee0_0000)

    // MARK: Interrupt lines

    /// The I/O APIC inputs (GSIs) devices are wired to. KVM's in-kernel irqchip routes
    /// GSI n to I/O APIC pin n, and GSIs 0-15 to the PIC pair as well (api.rst 4.24,
    /// KVM_CREATE_IRQCHIP). ISA conventions keep 0-4 and 8 (timer, keyboard, cascade,
    /// COM2, COM1, RTC); COM1's IRQ 4 is `LegacyPorts.com1IRQ`.
    ///
    /// virtio-mmio devices take free ISA lines, which every kernel can name on its
    /// command line (`virtio_mmio.device=4K@0xd0000000:5`); the n-th device gets the
    /// n-th entry.
    public static let virtioMMIOInterrupts: [UInt32] = [5, 6, 7, 9, 10, 11, 12, 14, 15]
    /// PCI INTx: pins 16-23 of the I/O APIC, the lines beyond the ISA range that PCI
    /// interrupts use on a PC; device n on bus 0 gets `pciInterrupts[(n - 1) % 8]` for
    /// INTA# (the host bridge is device 0 and raises no interrupt).
    public static let pciInterrupts: [UInt32] = [16, 17, 18, 19, 20, 21, 22, 23]

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
