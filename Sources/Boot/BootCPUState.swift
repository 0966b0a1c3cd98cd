import GuestMemory

/// The boot processor's registers at the kernel's 64-bit entry, as plain values
/// (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL"): long mode with paging and
/// an identity map, the boot GDT loaded with __BOOT_CS and __BOOT_DS, interrupts off,
/// RSI holding the zero page's address. The VMM turns it into KVM's register structs.
public struct BootCPUState: Sendable, Equatable {
    public var rip: UInt64
    public var rsp: UInt64
    public var rsi: UInt64
    public var rflags: UInt64
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var efer: UInt64
    public var gdtBase: UInt64
    public var gdtLimit: UInt16
    public var idtBase: UInt64
    public var idtLimit: UInt16
    public var codeSegment: SegmentDescriptor
    public var dataSegment: SegmentDescriptor
    public var taskSegment: SegmentDescriptor

    /// The state for entering a kernel at `entry`.
    static func longMode(entry: GuestAddress) -> BootCPUState {
        BootCPUState(
            rip: entry.rawValue,
            rsp: Layout.bootStackTop.rawValue,
            rsi: Layout.zeroPage.rawValue,
            rflags: ControlRegisters.rflagsReserved,
            cr0: ControlRegisters.cr0ProtectionEnable | ControlRegisters.cr0ExtensionType
                | ControlRegisters.cr0Paging,
            cr3: PageTables.pml4.rawValue,
            cr4: ControlRegisters.cr4PhysicalAddressExtension,
            efer: ControlRegisters.eferLongModeEnable | ControlRegisters.eferLongModeActive,
            gdtBase: Layout.gdt.rawValue,
            gdtLimit: GDT.limit,
            idtBase: Layout.idt.rawValue,
            idtLimit: 0,
            codeSegment: GDT.descriptor(GDT.codeSelector),
            dataSegment: GDT.descriptor(GDT.dataSelector),
            taskSegment: GDT.descriptor(GDT.tssSelector))
    }
}
