import GuestMemory

/// The Multiple APIC Description Table, "APIC" (ACPI 6.5, 5.2.12): the interrupt
/// controllers. Stock kernels (Debian's has CONFIG_X86_MPPARSE unset) find their CPUs
/// and the I/O APIC only here.
///
/// ```
///  offset  size  field
///   0      36    header
///  36       4    Local Interrupt Controller Address: Layout.localAPIC
///  40       4    Flags: PCAT_COMPAT, the machine also has the dual 8259 PICs
///  44            entries, each starting with a type byte and a length byte
/// ```
///
/// The entries:
/// - one Processor Local APIC per vCPU, APIC ID = vCPU index (KVM_CREATE_VCPU's id is the
///   local APIC's ID), ACPI processor UID the same; IDs from 255 on need the Processor
///   Local x2APIC form ("values 255 and greater must use the x2APIC structure", 5.2.12.12);
/// - the I/O APIC at Layout.ioAPIC, inputs from GSI 0;
/// - interrupt source overrides, where an ISA IRQ is not simply GSI n, edge-triggered
///   and active high (5.2.12.5);
/// - local APIC NMI: LINT1 of every processor is wired to NMI (5.2.12.7, 5.2.12.13), as
///   SwiftVMM's virtual-wire set-up programs it.
enum MADT {
    static let signature = "APIC"
    /// Revision 5: the layout since ACPI 6.3 (with the Online Capable flag), kept by 6.5.
    static let revision: UInt8 = 5
    static let pcatCompatible: UInt32 = 1 << 0

    /// Entry types (5.2.12, Table 5.21) and their lengths.
    enum EntryType {
        static let localAPIC: UInt8 = 0
        static let ioAPIC: UInt8 = 1
        static let interruptSourceOverride: UInt8 = 2
        static let localAPICNMI: UInt8 = 4
        static let localX2APIC: UInt8 = 9
        static let localX2APICNMI: UInt8 = 10
    }

    /// Local APIC flags bit 0: Enabled, the processor is usable.
    static let enabled: UInt32 = 1 << 0
    /// The largest APIC ID the 8-bit Processor Local APIC structure may carry.
    static let largestXAPICID = 254
    /// ACPI processor UID meaning "every processor", in an NMI entry.
    static let allProcessors: UInt8 = 0xff
    static let allX2APICProcessors: UInt32 = 0xffff_ffff
    /// The LINT input wired to NMI.
    static let nmiLINT: UInt8 = 1

    /// MPS INTI flags (5.2.12.5, Table 5.26): bits 1-0 polarity, bits 3-2 trigger mode.
    enum INTIFlags {
        static let conforming: UInt16 = 0
        static let activeHigh: UInt16 = 0b01
        static let edgeTriggered: UInt16 = 0b01 << 2
        static let levelTriggered: UInt16 = 0b11 << 2
    }

    /// An ISA IRQ's GSI and trigger mode, where the MADT states it.
    struct Override: Equatable {
        let irq: UInt8
        let gsi: UInt32
        let flags: UInt16
    }

    /// The overrides for `platform`:
    /// - IRQ 0 is GSI 0. A PC's firmware says IRQ 0 -> GSI 2, because its timer is wired
    ///   to I/O APIC pin 2; KVM's default routing sends the in-kernel PIT's IRQ 0 to pin 0
    ///   (api.rst 4.24, KVM_CREATE_IRQCHIP), so an IRQ 0 -> GSI 2 override would point the
    ///   timer at a pin nothing drives. Stated explicitly, so no OS assumes the PC wiring.
    /// - virtio-mmio devices on ISA lines get the trigger mode their description says,
    ///   active high. SwiftVMM's pulse their line once per interrupt, with
    ///   InterruptStatus telling the driver why (virtio v1.2, 4.2.2), so edge.
    static func overrides(for platform: ACPIPlatform) -> [Override] {
        var overrides = [Override(irq: 0, gsi: 0, flags: INTIFlags.conforming)]
        for device in platform.virtioMMIODevices where device.gsi < ACPIPlatform.isaInterrupts {
            let trigger = device.trigger == .level ? INTIFlags.levelTriggered : INTIFlags.edgeTriggered
            overrides.append(Override(irq: UInt8(device.gsi), gsi: device.gsi, flags: INTIFlags.activeHigh | trigger))
        }
        return overrides
    }

    /// The bytes the processor entries of `vcpuCount` vCPUs take: 8 per Processor Local
    /// APIC structure (IDs up to `largestXAPICID`), 16 per Processor Local x2APIC
    /// structure beyond (5.2.12.2 and 5.2.12.12). Computed, not built, so an absurd count
    /// is refused before any memory is spent on it.
    static func processorEntriesSize(vcpuCount: Int) -> UInt64 {
        let xAPICs = UInt64(min(vcpuCount, Int(largestXAPICID) + 1))
        let x2APICs = UInt64(vcpuCount) - xAPICs
        return xAPICs * 8 + x2APICs * 16
    }

    static func bytes(vcpuCount: Int, platform: ACPIPlatform) -> [UInt8] {
        var body = UInt32(Layout.localAPIC.rawValue).littleEndianBytes + pcatCompatible.littleEndianBytes
        var hasX2APICs = false
        for id in 0..<vcpuCount {
            if id <= largestXAPICID {
                // type, length, ACPI processor UID, APIC ID, flags
                body += [EntryType.localAPIC, 8, UInt8(id), UInt8(id)] + enabled.littleEndianBytes
            } else {
                // type, length, reserved, x2APIC ID, flags, ACPI processor UID
                body += [EntryType.localX2APIC, 16, 0, 0] + UInt32(id).littleEndianBytes + enabled.littleEndianBytes + UInt32(id).littleEndianBytes
                hasX2APICs = true
            }
        }
        // type, length, I/O APIC ID, reserved, address, global system interrupt base
        body += [EntryType.ioAPIC, 12, Layout.ioAPICID, 0] + UInt32(Layout.ioAPIC.rawValue).littleEndianBytes + UInt32(0).littleEndianBytes
        for override in overrides(for: platform) {
            // type, length, bus 0 (ISA), source IRQ, GSI, flags
            body += [EntryType.interruptSourceOverride, 10, 0, override.irq] + override.gsi.littleEndianBytes + override.flags.littleEndianBytes
        }
        // type, length, ACPI processor UID, flags, LINT#
        body += [EntryType.localAPICNMI, 6, allProcessors] + INTIFlags.conforming.littleEndianBytes + [nmiLINT]
        if hasX2APICs {
            // type, length, flags, ACPI processor UID, LINT#, reserved
            body += [EntryType.localX2APICNMI, 12] + INTIFlags.conforming.littleEndianBytes + allX2APICProcessors.littleEndianBytes + [nmiLINT, 0, 0, 0]
        }
        return SystemDescriptionTable.build(signature: signature, revision: revision, body: body)
    }
}
