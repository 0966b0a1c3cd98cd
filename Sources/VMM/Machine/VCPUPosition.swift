import CKVM
import KVM

/// Where a vCPU was when the machine stopped, for the message of a run that timed out:
/// its instruction pointer, and whether it was halted (waiting for an interrupt) or
/// runnable (KVM_GET_MP_STATE, api.rst 4.38). A guest that hangs waiting shows every
/// vCPU halted; one that spins shows the RIP it spins at (under Linux, look it up in
/// System.map, with the kernel booted `nokaslr`).
public struct VCPUPosition: Sendable, Equatable {
    public let id: Int
    public let rip: UInt64
    public let halted: Bool

    public init(id: Int, rip: UInt64, halted: Bool) {
        self.id = id
        self.rip = rip
        self.halted = halted
    }

    /// Reads `vcpu`'s position; nil when KVM will not say (the vCPU is then left out of
    /// the message, which is all this serves). Call only with the vCPU out of KVM_RUN.
    static func read(_ vcpu: VCPU) -> VCPUPosition? {
        guard let registers = try? vcpu.getRegisters(), let state = try? vcpu.getMPState() else { return nil }
        return VCPUPosition(id: vcpu.id, rip: registers.rip, halted: state == UInt32(KVM_MP_STATE_HALTED))
    }
}
