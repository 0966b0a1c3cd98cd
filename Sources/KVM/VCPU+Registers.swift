import CKVM

/// Register and CPU-state ioctls. They take and return the kernel's own structs
/// (`kvm_regs`, `kvm_sregs`, ...) by value: plain data, no pointers escape.
extension VCPU {
    /// KVM_GET_REGS: the general-purpose registers, RIP and RFLAGS (api.rst 4.11).
    public func getRegisters() throws(KVMError) -> kvm_regs {
        var registers = kvm_regs()
        try fd.ioctl(.getRegisters, &registers)
        return registers
    }

    /// KVM_SET_REGS (api.rst 4.12).
    public func setRegisters(_ registers: kvm_regs) throws(KVMError) {
        var registers = registers
        try fd.ioctl(.setRegisters, &registers)
    }

    /// KVM_GET_SREGS: segment, control and descriptor-table registers, EFER (api.rst 4.13).
    public func getSpecialRegisters() throws(KVMError) -> kvm_sregs {
        var registers = kvm_sregs()
        try fd.ioctl(.getSpecialRegisters, &registers)
        return registers
    }

    /// KVM_SET_SREGS (api.rst 4.14).
    public func setSpecialRegisters(_ registers: kvm_sregs) throws(KVMError) {
        var registers = registers
        try fd.ioctl(.setSpecialRegisters, &registers)
    }

    /// KVM_SET_FPU: the x87/SSE state (api.rst 4.23).
    public func setFPU(_ fpu: kvm_fpu) throws(KVMError) {
        var fpu = fpu
        try fd.ioctl(.setFPU, &fpu)
    }

    /// KVM_GET_LAPIC: the in-kernel local APIC's register page (api.rst 4.57).
    public func getLocalAPIC() throws(KVMError) -> kvm_lapic_state {
        var state = kvm_lapic_state()
        try fd.ioctl(.getLocalAPIC, &state)
        return state
    }

    /// KVM_SET_LAPIC (api.rst 4.58).
    public func setLocalAPIC(_ state: kvm_lapic_state) throws(KVMError) {
        var state = state
        try fd.ioctl(.setLocalAPIC, &state)
    }

    /// KVM_GET_MP_STATE: runnable, waiting for INIT/SIPI, halted... (api.rst 4.38).
    public func getMPState() throws(KVMError) -> UInt32 {
        var state = kvm_mp_state()
        try fd.ioctl(.getMPState, &state)
        return state.mp_state
    }

    /// KVM_SET_MP_STATE (api.rst 4.39).
    public func setMPState(_ value: UInt32) throws(KVMError) {
        var state = kvm_mp_state(mp_state: value)
        try fd.ioctl(.setMPState, &state)
    }

    /// KVM_SET_CPUID2: what CPUID reports inside the guest (api.rst 4.73).
    public func setCPUID2(_ entries: [CPUIDEntry]) throws(KVMError) {
        try FlexibleArray<kvm_cpuid2>(entries.map(\.kernelValue)).withArgument { (argument) throws(KVMError) in
            try fd.ioctl(.setCPUID2, buffer: argument)
        }
    }

    /// KVM_SET_MSRS: model-specific registers (api.rst 4.19). Throws naming the first
    /// MSR the kernel refused when it sets fewer than asked.
    public func setMSRs(_ msrs: [(index: UInt32, value: UInt64)]) throws(KVMError) {
        let list = FlexibleArray<kvm_msrs>(msrs.map { kvm_msr_entry(index: $0.index, reserved: 0, data: $0.value) })
        let set = try list.withArgument { (argument) throws(KVMError) in try fd.ioctl(.setMSRs, buffer: argument) }
        if set < msrs.count { throw .msrRefused(index: msrs[Int(set)].index) }
    }
}
