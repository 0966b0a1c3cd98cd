import CKVM
import KVM

/// The 8259A pair that KVM_CREATE_IRQCHIP emulates, left the way firmware leaves it:
/// initialized, with its vectors above the CPU's exceptions, and every line masked.
///
/// KVM creates the PICs in their power-on state: vector base 0 and nothing masked, while
/// the boot processor's LINT0 passes their output on as ExtINT
/// (`LocalAPIC.configureVirtualWire`). An ISA device's interrupt reaches the PIC and the
/// I/O APIC alike (KVM's default routing), so a guest that never programs the PICs would
/// receive line n as vector n, a CPU exception: COM1's IRQ 4 as #OF. Linux does not
/// program them when the FADT says "hardware-reduced ACPI"; it uses the I/O APIC only.
/// Firmware initializes the PICs at power-on (ICW1 to ICW4, Intel 8259A datasheet) and
/// masks the lines it does not use; an operating system that wants them programs them
/// again, as Linux's init_8259A does.
enum LegacyPIC {
    /// Vector bases: 0x20 for the master's IRQs 0-7 and 0x28 for the slave's 8-15, the
    /// first vectors above the 32 the CPU reserves for exceptions (SDM vol. 3A, 6.2).
    static let masterVectorBase: UInt8 = 0x20
    static let slaveVectorBase: UInt8 = 0x28
    /// OCW1, the interrupt mask register: every line masked.
    static let allLinesMasked: UInt8 = 0xff

    static func initialize(_ vm: VirtualMachine) throws(KVMError) {
        let chips = [
            (UInt32(KVM_IRQCHIP_PIC_MASTER), masterVectorBase),
            (UInt32(KVM_IRQCHIP_PIC_SLAVE), slaveVectorBase),
        ]
        for (chip, vectorBase) in chips {
            var state = try vm.getIRQChip(chip)
            state.chip.pic.irq_base = vectorBase  // ICW2
            state.chip.pic.init4 = 1  // ICW4 was given: 8086 mode
            state.chip.pic.init_state = 0  // the ICW sequence is complete
            state.chip.pic.imr = allLinesMasked  // OCW1
            try vm.setIRQChip(state)
        }
    }
}
