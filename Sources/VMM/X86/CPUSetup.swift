import Boot
import CKVM
import KVM

/// Puts a new vCPU in the state its first KVM_RUN needs.
///
/// Every vCPU gets CPUID, MSRs, the FPU's reset state and a virtual-wire local APIC.
/// The boot processor also gets the registers of the Linux 64-bit boot protocol
/// (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): long mode, paging with an
/// identity map, flat segments from the boot GDT, RSI pointing at the zero page.
/// Application processors keep KVM's reset state and wait, inside KVM_RUN, for the INIT
/// and start-up IPIs the guest sends through its local APIC, as on hardware (Intel SDM
/// vol. 3A, 9.4 "Multiple-Processor (MP) Initialization").
enum CPUSetup {
    /// x87 control word at reset (SDM vol. 1, 8.1.5): all exceptions masked.
    static let fpuControlWordDefault: UInt16 = 0x37f
    /// MXCSR at reset (SDM vol. 1, 10.2.3): all SSE exceptions masked.
    static let mxcsrDefault: UInt32 = 0x1f80

    static func configure(
        _ vcpu: VCPU, count: Int, cpuid: CPUID.Host, boot: BootCPUState?
    ) throws(KVMError) {
        try vcpu.setCPUID2(CPUID.entries(for: vcpu.id, of: count, host: cpuid))
        try vcpu.setMSRs(ModelSpecificRegisters.bootValues)
        var fpu = kvm_fpu()
        fpu.fcw = fpuControlWordDefault
        fpu.mxcsr = mxcsrDefault
        try vcpu.setFPU(fpu)
        try LocalAPIC.configureVirtualWire(vcpu)
        if let boot { try enterLongMode(vcpu, boot) }
        try vcpu.setMPState(boot == nil ? applicationProcessorState : bootProcessorState)
    }

    /// KVM's multiprocessing states (api.rst 4.38, KVM_GET_MP_STATE). KVM already starts
    /// vCPU 0 runnable and the others uninitialized when the local APIC is in the kernel;
    /// SwiftVMM says so itself rather than rely on which vCPU KVM deems the boot one.
    /// The boot processor runs from its first KVM_RUN.
    static let bootProcessorState = UInt32(KVM_MP_STATE_RUNNABLE)
    /// An application processor "has not yet received an INIT signal": KVM_RUN blocks
    /// until INIT, then until a start-up IPI, and enters the guest at the SIPI's vector.
    static let applicationProcessorState = UInt32(KVM_MP_STATE_UNINITIALIZED)

    /// Loads the boot protocol's register state.
    static func enterLongMode(_ vcpu: VCPU, _ boot: BootCPUState) throws(KVMError) {
        var special = try vcpu.getSpecialRegisters()
        special.cs = segment(boot.codeSegment)
        special.ds = segment(boot.dataSegment)
        special.es = special.ds
        special.fs = special.ds
        special.gs = special.ds
        special.ss = special.ds
        special.tr = segment(boot.taskSegment)
        special.gdt.base = boot.gdtBase
        special.gdt.limit = boot.gdtLimit
        special.idt.base = boot.idtBase
        special.idt.limit = boot.idtLimit
        special.cr0 = boot.cr0
        special.cr3 = boot.cr3
        special.cr4 = boot.cr4
        special.efer = boot.efer
        try vcpu.setSpecialRegisters(special)

        var registers = kvm_regs()
        registers.rip = boot.rip
        registers.rsp = boot.rsp
        registers.rbp = boot.rsp
        registers.rsi = boot.rsi
        registers.rflags = boot.rflags
        try vcpu.setRegisters(registers)
    }

    /// A boot GDT entry as KVM's `kvm_segment` (the hidden part of a segment register).
    static func segment(_ descriptor: SegmentDescriptor) -> kvm_segment {
        var segment = kvm_segment()
        segment.base = descriptor.base
        segment.limit = descriptor.limit
        segment.selector = descriptor.selector
        segment.type = descriptor.type
        segment.present = descriptor.present ? 1 : 0
        segment.dpl = descriptor.dpl
        segment.db = descriptor.db ? 1 : 0
        segment.s = descriptor.s ? 1 : 0
        segment.l = descriptor.l ? 1 : 0
        segment.g = descriptor.g ? 1 : 0
        segment.avl = descriptor.avl ? 1 : 0
        segment.unusable = descriptor.present ? 0 : 1
        return segment
    }
}
