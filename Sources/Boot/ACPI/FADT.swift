import GuestMemory

/// The Fixed ACPI Description Table, "FACP" (ACPI 6.5, 5.2.9, Table 5.9): where the DSDT
/// is, and what kind of PC this is.
///
/// SwiftVMM's machine is hardware-reduced (ACPI 6.5, 4.1 "Hardware-Reduced ACPI"): it has
/// none of the fixed ACPI hardware (PM1 event and control blocks, PM timer, GPE blocks,
/// an SCI), so those fields stay zero and no FACS is needed. What such a machine has
/// instead is here: the reset register, and the sleep control and status registers
/// through which it powers off (4.8.3.7). As in Firecracker and Cloud Hypervisor, the
/// guest learns everything else from the MADT and the DSDT.
enum FADT {
    static let signature = "FACP"
    /// FADT major version 6 and minor version 5: the ACPI 6.5 layout, 276 bytes.
    static let revision: UInt8 = 6
    static let minorVersion: UInt8 = 5
    static let size = 276

    /// Byte offsets of the fields SwiftVMM fills (Table 5.9).
    enum Field {
        static let dsdt = 40
        static let century = 108
        static let iapcBootArchitecture = 109
        static let flags = 112
        static let resetRegister = 116
        static let resetValue = 128
        static let minorVersion = 131
        static let extendedDSDT = 140
        static let sleepControlRegister = 244
        static let sleepStatusRegister = 256
        static let hypervisorVendorIdentity = 268
    }

    /// IA-PC boot architecture flags (5.2.9.3, Table 5.11).
    enum BootArchitecture {
        /// LEGACY_DEVICES: user-visible devices on the ISA/LPC bus (the UART, the RTC).
        static let legacyDevices: UInt16 = 1 << 0
        /// 8042: an i8042 keyboard controller at ports 0x60 and 0x64. Without it Linux
        /// takes the controller to be absent (arch/x86/kernel/acpi/boot.c, acpi_parse_fadt).
        static let i8042: UInt16 = 1 << 1
        /// VGA Not Present: do not probe VGA hardware.
        static let vgaNotPresent: UInt16 = 1 << 2
        /// PCIe ASPM Controls: the OS must not enable PCIe active-state power management.
        static let pcieASPMControls: UInt16 = 1 << 4
        // Left clear: bit 3 "MSI Not Supported" (a PCI device may offer MSI or MSI-X) and
        // bit 5 "CMOS RTC Not Present" (the RTC is there, at ports 0x70-0x71).
    }

    /// Fixed feature flags (5.2.9, Table 5.10).
    enum Flags {
        /// WBINVD: the processor's WBINVD instruction flushes caches correctly.
        static let wbinvd: UInt32 = 1 << 0
        /// PWR_BUTTON and SLP_BUTTON: no fixed-hardware power or sleep button.
        static let powerButton: UInt32 = 1 << 4
        static let sleepButton: UInt32 = 1 << 5
        /// RESET_REG_SUP: RESET_REG and RESET_VALUE reset the machine.
        static let resetRegisterSupported: UInt32 = 1 << 10
        /// HW_REDUCED_ACPI: no fixed ACPI hardware (see the type's comment).
        static let hardwareReduced: UInt32 = 1 << 20
    }

    /// "SWIFTVMM": the Hypervisor Vendor Identity, eight bytes.
    static let hypervisorVendorIdentity = "SWIFTVMM"

    static func bytes(dsdt: GuestAddress, platform: ACPIPlatform) -> [UInt8] {
        let header = SystemDescriptionTable.headerSize
        var fields = ByteFields(count: size - header)
        func write<T: FixedWidthInteger & BitwiseCopyable>(_ value: T, at offset: Int) { fields.write(value, at: offset - header) }

        // Both DSDT pointers, equal: the 64-bit one wins where both are read (5.2.9).
        write(UInt32(truncatingIfNeeded: dsdt.rawValue), at: Field.dsdt)
        write(dsdt.rawValue, at: Field.extendedDSDT)
        write(platform.cmosCenturyIndex ?? 0, at: Field.century)
        write(
            BootArchitecture.legacyDevices | BootArchitecture.i8042 | BootArchitecture.vgaNotPresent
                | BootArchitecture.pcieASPMControls,
            at: Field.iapcBootArchitecture)
        func writeRegister(port: UInt16, at offset: Int) {
            fields.bytes.replaceSubrange(
                offset - header..<offset - header + GenericAddress.size, with: GenericAddress.systemIOByte(port: port))
        }
        var flags = Flags.wbinvd | Flags.powerButton | Flags.sleepButton | Flags.hardwareReduced
        if let reset = platform.resetRegister {
            flags |= Flags.resetRegisterSupported
            writeRegister(port: reset.port, at: Field.resetRegister)
            write(reset.value, at: Field.resetValue)
        }
        if let sleep = platform.sleepRegisters {
            writeRegister(port: sleep.controlPort, at: Field.sleepControlRegister)
            writeRegister(port: sleep.statusPort, at: Field.sleepStatusRegister)
        }
        write(flags, at: Field.flags)
        write(minorVersion, at: Field.minorVersion)
        fields.writeASCII(hypervisorVendorIdentity, at: Field.hypervisorVendorIdentity - header, count: 8)
        return SystemDescriptionTable.build(signature: signature, revision: revision, body: fields.bytes)
    }
}

/// A Generic Address Structure: a register's address space, width and address (ACPI
/// 6.5, 5.2.3.2, Table 5.1).
enum GenericAddress {
    static let size = 12
    /// Address space ID 1: system I/O.
    static let systemIO: UInt8 = 1
    /// Access size 1: byte access.
    static let byteAccess: UInt8 = 1

    /// An 8-bit register at I/O `port`: space, bit width, bit offset, access size, address.
    static func systemIOByte(port: UInt16) -> [UInt8] {
        [systemIO, 8, 0, byteAccess] + UInt64(port).littleEndianBytes
    }
}
