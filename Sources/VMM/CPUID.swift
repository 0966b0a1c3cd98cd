import KVM

/// Per-vCPU adjustments to the CPUID leaves KVM supports (KVM_GET_SUPPORTED_CPUID).
///
/// Everything is passed through as the host's KVM offers it, hypervisor leaves
/// (0x4000_0000 "KVMKVMKVM" and the KVM feature leaf) included. Only what differs per
/// vCPU is patched: its APIC ID and the processor count (Intel SDM vol. 2A, CPUID).
enum CPUID {
    static let featureLeaf: UInt32 = 0x1
    static let extendedTopologyLeaf: UInt32 = 0xb
    static let extendedTopologyV2Leaf: UInt32 = 0x1f

    /// Leaf 1 EBX bits 31-24: initial APIC ID; bits 23-16: logical processors per package.
    static let initialAPICIDShift: UInt32 = 24
    static let logicalCountShift: UInt32 = 16
    /// Leaf 1 EDX bit 28: HTT, the logical-processor count field is valid.
    static let htt: UInt32 = 1 << 28

    static func entries(for vcpu: Int, of count: Int, supported: [CPUIDEntry]) -> [CPUIDEntry] {
        supported.map { entry in
            var entry = entry
            switch entry.function {
            case featureLeaf:
                entry.ebx = (entry.ebx & 0x0000_ffff)
                    | UInt32(vcpu) << initialAPICIDShift
                    | UInt32(min(count, 255)) << logicalCountShift
                if count > 1 { entry.edx |= htt }
            case extendedTopologyLeaf, extendedTopologyV2Leaf:
                entry.edx = UInt32(vcpu)  // EDX: x2APIC ID of this logical processor
            default:
                break
            }
            return entry
        }
    }
}
