import CKVM

/// Access to the 32-bit registers in a `kvm_lapic_state` (a copy of the local APIC's
/// 1 KiB register page; Intel SDM vol. 3A, table 11-1 lists the offsets).
extension kvm_lapic_state {
    /// The register at byte `offset` (16-byte aligned in the APIC page).
    public func register(at offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= MemoryLayout.size(ofValue: regs), "APIC offset out of range")
        return withUnsafeBytes(of: regs) { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    /// Replaces the register at byte `offset`.
    public mutating func setRegister(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= MemoryLayout.size(ofValue: regs), "APIC offset out of range")
        withUnsafeMutableBytes(of: &regs) { $0.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    }
}
