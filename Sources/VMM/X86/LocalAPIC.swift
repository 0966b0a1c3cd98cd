import CKVM
import KVM

/// Local APIC set-up: route the PIC's output to LINT0 as ExtINT and NMI to LINT1, the
/// "virtual wire" configuration firmware leaves behind (Intel MP specification 1.4,
/// 3.6.2.2; Intel SDM vol. 3A, 11.5.1 "Local Vector Table"). Without it the in-kernel
/// PIC's interrupts (the PIT's timer, the UART's) never reach a vCPU.
enum LocalAPIC {
    /// Register offsets in the APIC page.
    static let lvtLINT0Offset = 0x350
    static let lvtLINT1Offset = 0x360
    /// LVT bits 10-8: delivery mode.
    static let deliveryModeMask: UInt32 = 0x700
    static let deliveryModeExtINT: UInt32 = 0x700
    static let deliveryModeNMI: UInt32 = 0x400
    /// LVT bit 16: masked.
    static let masked: UInt32 = 1 << 16

    static func configureVirtualWire(_ vcpu: VCPU) throws(KVMError) {
        var state = try vcpu.getLocalAPIC()
        for (offset, mode) in [(lvtLINT0Offset, deliveryModeExtINT), (lvtLINT1Offset, deliveryModeNMI)] {
            let old = state.register(at: offset)
            state.setRegister((old & ~(deliveryModeMask | masked)) | mode, at: offset)
        }
        try vcpu.setLocalAPIC(state)
    }
}
