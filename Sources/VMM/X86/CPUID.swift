import CKVM
import KVM

/// Per-vCPU adjustments to the CPUID leaves KVM supports (KVM_GET_SUPPORTED_CPUID).
///
/// Everything is passed through as the host's KVM offers it, hypervisor leaves
/// (0x4000_0000 "KVMKVMKVM" and the KVM feature leaf) included. Only what differs per
/// vCPU, or describes the machine's shape, is rewritten: every vCPU is one core of a
/// single package, one thread per core, and its APIC ID is its vCPU index (KVM's
/// in-kernel local APIC takes the vCPU id as its APIC ID, api.rst 4.7 KVM_CREATE_VCPU).
///
/// Linux reads a CPU's place in the topology from several leaves, vendor by vendor
/// (arch/x86/kernel/cpu/topology_common.c, topology_ext.c, topology_amd.c), so each of
/// them must tell the same story:
/// - leaf 1: initial APIC ID and the package's addressable ID count (Intel SDM vol. 2A,
///   CPUID, "Initial APIC ID"; AMD APM vol. 3, E.3.2 "Function 1h");
/// - leaves 0xB and 0x1F: the x2APIC ID and the SMT and core levels (SDM vol. 2A,
///   "V2 Extended Topology Enumeration Leaf");
/// - AMD leaves 0x8000_0001 (CmpLegacy), 0x8000_0008 (core count) and 0x8000_001E
///   (extended APIC ID, core ID) (AMD APM vol. 3, appendix E.4).
enum CPUID {
    static let featureLeaf: UInt32 = 0x1
    static let extendedTopologyLeaf: UInt32 = 0xb
    static let extendedTopologyV2Leaf: UInt32 = 0x1f
    static let extendedFeatureLeaf: UInt32 = 0x8000_0001
    static let addressSizeLeaf: UInt32 = 0x8000_0008
    static let amdExtendedAPICIDLeaf: UInt32 = 0x8000_001e

    /// Leaf 1 EBX bits 31-24: initial APIC ID; bits 23-16: addressable logical
    /// processor IDs in the package.
    static let initialAPICIDShift: UInt32 = 24
    static let logicalCountShift: UInt32 = 16
    /// Leaf 1 EDX bit 28: HTT, the logical-processor count field is valid.
    static let htt: UInt32 = 1 << 28
    /// Leaf 0x8000_0001 ECX bit 1: CmpLegacy, the HTT count counts cores, not threads.
    static let cmpLegacy: UInt32 = 1 << 1
    /// Leaf 0x8000_0008 ECX bits 7-0: NC, cores in the package minus one; bits 15-12:
    /// ApicIdSize, the APIC ID bits that number the cores.
    static let coreCountMask: UInt32 = 0xff
    static let apicIDSizeShift: UInt32 = 12
    static let apicIDSizeMask: UInt32 = 0xf << 12
    /// Leaves 0xB/0x1F ECX bits 15-8: the level type.
    static let levelTypeShift: UInt32 = 8
    static let levelTypeInvalid: UInt32 = 0
    static let levelTypeSMT: UInt32 = 1
    static let levelTypeCore: UInt32 = 2

    /// The leaves for vCPU `vcpu` of a machine with `count` vCPUs.
    static func entries(for vcpu: Int, of count: Int, supported: [CPUIDEntry]) -> [CPUIDEntry] {
        let apicID = UInt32(vcpu)
        let coreBits = bitsToNumber(count)
        var result: [CPUIDEntry] = []
        for entry in supported {
            var entry = entry
            switch entry.function {
            case featureLeaf:
                // Only 8 bits here; a larger ID is in leaf 0xB's EDX.
                entry.ebx = (entry.ebx & 0x0000_ffff)
                    | (apicID & 0xff) << initialAPICIDShift
                    | UInt32(min(1 << coreBits, 0xff)) << logicalCountShift
                if count > 1 { entry.edx |= htt } else { entry.edx &= ~htt }
            case extendedTopologyLeaf, extendedTopologyV2Leaf:
                // Replaced as a whole below: the host's subleaves describe the host.
                if entry.index == 0 {
                    result += topologySubleaves(function: entry.function, apicID: apicID, count: count)
                }
                continue
            case extendedFeatureLeaf:
                if count > 1 { entry.ecx |= cmpLegacy } else { entry.ecx &= ~cmpLegacy }
            case addressSizeLeaf:
                entry.ecx = (entry.ecx & ~(coreCountMask | apicIDSizeMask))
                    | UInt32(count - 1) & coreCountMask
                    | UInt32(coreBits) << apicIDSizeShift
            case amdExtendedAPICIDLeaf:
                entry.eax = apicID                     // extended APIC ID
                entry.ebx = apicID & 0xff              // core ID; bits 15-8: threads per core - 1 = 0
                entry.ecx = 0                          // node 0; bits 10-8: nodes per package - 1 = 0
            default:
                break
            }
            result.append(entry)
        }
        return result
    }

    /// Leaf 0xB or 0x1F: subleaf 0 the SMT level (one thread per core), subleaf 1 the
    /// core level (`count` cores), subleaf 2 the end of the list. EAX is the number of
    /// APIC ID bits below the next level, EBX the logical processors at this level,
    /// ECX the level type and number, EDX the x2APIC ID.
    static func topologySubleaves(function: UInt32, apicID: UInt32, count: Int) -> [CPUIDEntry] {
        let flags = UInt32(KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
        let levels: [(eax: UInt32, ebx: UInt32, type: UInt32)] = [
            (0, 1, levelTypeSMT),
            (UInt32(bitsToNumber(count)), UInt32(count), levelTypeCore),
            (0, 0, levelTypeInvalid),
        ]
        return levels.enumerated().map { index, level in
            CPUIDEntry(
                function: function, index: UInt32(index), flags: flags, eax: level.eax, ebx: level.ebx,
                ecx: level.type << levelTypeShift | UInt32(index), edx: apicID)
        }
    }

    /// The number of bits that number `count` things: 0 for 1, 1 for 2, 2 for 3 or 4.
    static func bitsToNumber(_ count: Int) -> Int {
        count <= 1 ? 0 : Int.bitWidth - (count - 1).leadingZeroBitCount
    }
}
