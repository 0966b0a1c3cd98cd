import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// A KVM virtual machine: a VM file descriptor (Documentation/virt/kvm/api.rst, 4.x).
public final class VirtualMachine: Sendable {
    let fd: FileDescriptor
    let system: KVMSystem

    init(fd: FileDescriptor, system: KVMSystem) {
        self.fd = fd
        self.system = system
    }

    /// KVM_SET_TSS_ADDR: three pages of guest physical address space, outside RAM, that
    /// Intel hosts need for real-mode emulation (api.rst 4.48).
    public func setTSSAddress(_ address: UInt64) throws(KVMError) {
        try fd.ioctl(.setTSSAddress, value: UInt(address))
    }

    /// KVM_SET_IDENTITY_MAP_ADDR: one page, outside RAM, for the identity-map page table
    /// Intel hosts without unrestricted guest use in real mode (api.rst 4.52).
    public func setIdentityMapAddress(_ address: UInt64) throws(KVMError) {
        var value = address
        try fd.ioctl(.setIdentityMapAddress, &value)
    }

    /// KVM_CREATE_IRQCHIP: in-kernel PIC pair, I/O APIC and a local APIC per vCPU
    /// (api.rst 4.24). IRQ lines 0-15 reach both the PICs and the I/O APIC, 16-23 the I/O APIC.
    public func createIRQChip() throws(KVMError) {
        try fd.ioctl(.createIRQChip)
    }

    /// KVM_GET_IRQCHIP: the state of one of the in-kernel interrupt controllers,
    /// KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE or KVM_IRQCHIP_IOAPIC (api.rst 4.26).
    public func getIRQChip(_ chip: UInt32) throws(KVMError) -> kvm_irqchip {
        var state = kvm_irqchip()
        state.chip_id = chip
        try fd.ioctl(.getIRQChip, &state)
        return state
    }

    /// KVM_SET_IRQCHIP: replaces the state of the controller `state.chip_id` names
    /// (api.rst 4.27).
    public func setIRQChip(_ state: kvm_irqchip) throws(KVMError) {
        var state = state
        try fd.ioctl(.setIRQChip, &state)
    }

    /// KVM_CREATE_PIT2: the in-kernel i8254 timer (ports 0x40-0x43), with the PC speaker
    /// port 0x61 answered by a dummy (api.rst 4.68).
    public func createPIT2() throws(KVMError) {
        var config = kvm_pit_config()
        config.flags = UInt32(KVM_PIT_SPEAKER_DUMMY)
        try fd.ioctl(.createPIT2, &config)
    }

    /// KVM_SET_USER_MEMORY_REGION: maps host memory at `hostAddress` into the guest's
    /// physical address space at `guestAddress` as memory slot `slot` (api.rst 4.35).
    public func setUserMemoryRegion(
        slot: UInt32, guestAddress: UInt64, size: UInt64, hostAddress: UInt64
    ) throws(KVMError) {
        var region = kvm_userspace_memory_region(
            slot: slot, flags: 0, guest_phys_addr: guestAddress,
            memory_size: size, userspace_addr: hostAddress)
        try fd.ioctl(.setUserMemoryRegion, &region)
    }

    /// KVM_IRQ_LINE: sets the level of an interrupt line of the in-kernel irqchip
    /// (api.rst 4.25).
    public func setIRQLine(_ irq: UInt32, high: Bool) throws(KVMError) {
        var level = kvm_irq_level()
        level.irq = irq
        level.level = high ? 1 : 0
        try fd.ioctl(.irqLine, &level)
    }

    /// KVM_CREATE_VCPU: vCPU number `id` (its initial APIC ID), with its `kvm_run` area
    /// mapped (api.rst 4.7).
    public func createVCPU(id: Int) throws(KVMError) -> VCPU {
        let raw = try fd.ioctl(.createVCPU, value: UInt(id))
        let vcpuFD = FileDescriptor(raw)
        return try VCPU(id: id, fd: vcpuFD, mmapSize: try system.vcpuMmapSize())
    }
}
