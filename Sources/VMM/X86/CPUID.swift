import CKVM
import KVM

/// The CPUID leaves each vCPU gets: what KVM supports (KVM_GET_SUPPORTED_CPUID), with the
/// few changes a guest needs to see a consistent virtual machine.
///
/// KVM's list is meant to be passed to KVM_SET_CPUID2 almost as it is, but not quite
/// (Documentation/virt/kvm/api.rst, 9.1 "KVM_GET_SUPPORTED_CPUID issues"): features that
/// depend on how user space built the VM are left for user space to set, and the leaves
/// that describe the topology describe the host, or nothing. SwiftVMM changes exactly
/// these, and passes everything else through, the KVM leaves (0x4000_0000 "KVMKVMKVM",
/// 0x4000_0001 features) and XSAVE's leaf 0xD included: KVM keeps 0xD's sizes in step with
/// the guest's XCR0 itself.
///
/// 1. Leaf 1 ECX bit 31, "hypervisor present" (AMD APM vol. 3, E.3.2 "Function 1h": reserved
///    for a hypervisor to say the processor is virtual). Without it Linux boots "on bare
///    hardware", never reads the KVM leaves and so never uses kvm-clock; on a machine with
///    no PIT or HPET it then cannot calibrate its TSC and waits for a timer tick forever.
///    Some hosts' KVM sets the bit itself; real KVM does not.
/// 2. Leaf 1 ECX bit 24, TSC-deadline mode of the local APIC timer: emulated by the
///    in-kernel local APIC, so KVM_GET_SUPPORTED_CPUID (before Linux 6.15) does not list
///    it; api.rst 9.1 says to set it when KVM_CAP_TSC_DEADLINE_TIMER is present.
/// 3. The topology: every vCPU is one core of a single package, one thread per core, and
///    its APIC ID is its vCPU index (KVM's in-kernel local APIC takes the vCPU id as its
///    APIC ID, api.rst 4.7 KVM_CREATE_VCPU). Linux reads a CPU's place from several
///    leaves, vendor by vendor (arch/x86/kernel/cpu/topology_common.c, topology_ext.c,
///    topology_amd.c, cacheinfo.c), so each must tell the same story:
///    - leaf 1: initial APIC ID and the package's addressable ID count (Intel SDM vol. 2A,
///      CPUID, "Initial APIC ID"; AMD APM vol. 3, E.3.2 "Function 1h");
///    - leaves 0xB and 0x1F: the x2APIC ID and the SMT and core levels (SDM vol. 2A,
///      "V2 Extended Topology Enumeration Leaf");
///    - leaf 4 (Intel) and 0x8000_001D (AMD): which caches the cores share (SDM vol. 2A,
///      "Deterministic Cache Parameters Leaf"; AMD APM vol. 3, E.4.15): per core for L1
///      and L2, the whole package for L3, so Linux's scheduler sees the cores of one
///      last-level cache;
///    - AMD leaves 0x8000_0001 (CmpLegacy), 0x8000_0008 (core count) and 0x8000_001E
///      (extended APIC ID, core ID) (AMD APM vol. 3, appendix E.4).
///
/// 4. The brand string, leaves 0x8000_0002-0x8000_0004: KVM reports zeros and leaves the
///    processor's name to user space. Where it does, the guest gets the host processor's
///    own (the one it runs on); without a name, Linux calls the CPU by its family's old
///    name ("AMD Hammer"). The same for leaf 0x8000_0005, the L1 caches and TLBs (AMD APM
///    vol. 3, E.4.5), as Firecracker passes it through.
///
/// Firecracker and Cloud Hypervisor make the same changes (Firecracker's
/// cpu_config/x86_64/cpuid/normalize.rs; Cloud Hypervisor's arch/src/x86_64/mod.rs).
/// `swiftvmm host --cpuid` prints KVM's list beside what a vCPU gets.
public enum CPUID {
    /// What the host offers: the leaves KVM supports, whether KVM_CAP_TSC_DEADLINE_TIMER
    /// is present, and the host processor's own leaves that describe it.
    public struct Host: Sendable {
        public var supported: [CPUIDEntry]
        public var tscDeadlineTimer: Bool
        /// The host processor's leaves 0x8000_0002-0x8000_0005 (`describingLeaves`).
        public var processor: [CPUIDEntry]

        /// A host offering `supported`, the TSC-deadline timer if `tscDeadlineTimer`, and
        /// the processor's own name and L1 cache leaves in `processor`.
        public init(supported: [CPUIDEntry], tscDeadlineTimer: Bool = false, processor: [CPUIDEntry] = []) {
            self.supported = supported
            self.tscDeadlineTimer = tscDeadlineTimer
            self.processor = processor
        }

        /// What `system` and the processor it runs on offer.
        public static func query(_ system: KVMSystem) throws(KVMError) -> Host {
            Host(
                supported: try system.supportedCPUID(),
                tscDeadlineTimer: system.checkExtension(.tscDeadlineTimer) != 0,
                processor: describingLeaves.flatMap { $0 }.map { HostCPUID.query($0) })
        }
    }

    static let maximumExtendedLeaf: UInt32 = 0x8000_0000
    /// Leaves that describe the processor and that KVM may leave empty, each group given
    /// whole: the brand string (three leaves), and the L1 caches and TLBs.
    static let describingLeaves: [ClosedRange<UInt32>] = [0x8000_0002...0x8000_0004, 0x8000_0005...0x8000_0005]
    static let featureLeaf: UInt32 = 0x1
    static let cacheParametersLeaf: UInt32 = 0x4
    static let extendedTopologyLeaf: UInt32 = 0xb
    static let extendedTopologyV2Leaf: UInt32 = 0x1f
    static let extendedFeatureLeaf: UInt32 = 0x8000_0001
    static let addressSizeLeaf: UInt32 = 0x8000_0008
    static let amdCacheTopologyLeaf: UInt32 = 0x8000_001d
    static let amdExtendedAPICIDLeaf: UInt32 = 0x8000_001e

    /// Leaf 1 EBX bits 31-24: initial APIC ID; bits 23-16: addressable logical
    /// processor IDs in the package.
    static let initialAPICIDShift: UInt32 = 24
    static let logicalCountShift: UInt32 = 16
    /// Leaf 1 EDX bit 28: HTT, the logical-processor count field is valid.
    static let htt: UInt32 = 1 << 28
    /// Leaf 1 ECX bit 24: the local APIC timer has TSC-deadline mode.
    static let tscDeadline: UInt32 = 1 << 24
    /// Leaf 1 ECX bit 31: the processor is a virtual one, run by a hypervisor.
    static let hypervisor: UInt32 = 1 << 31
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
    /// Leaves 4 and 0x8000_001D EAX bits 7-5: the cache level; bits 25-14: the logical
    /// processors sharing the cache, minus one. Leaf 4 EAX bits 31-26: the addressable
    /// core IDs in the package, minus one (reserved in 0x8000_001D).
    static let cacheLevelShift: UInt32 = 5
    static let cacheLevelMask: UInt32 = 0x7
    static let cacheSharingShift: UInt32 = 14
    static let cacheSharingMask: UInt32 = 0xfff << 14
    static let packageCoresShift: UInt32 = 26
    static let packageCoresMask: UInt32 = 0x3f << 26
    /// The level of the cache the whole package shares.
    static let lastLevelCache: UInt32 = 3

    /// The leaves for vCPU `vcpu` of a machine with `count` vCPUs, from what `host` offers.
    public static func entries(for vcpu: Int, of count: Int, host: Host) -> [CPUIDEntry] {
        let apicID = UInt32(vcpu)
        let coreBits = bitsToNumber(count)
        let tscDeadlineTimer = host.tscDeadlineTimer
        var result: [CPUIDEntry] = []
        let described = describingLeaves.reduce(host.supported) { filling($1, of: $0, from: host.processor) }
        for entry in described {
            var entry = entry
            switch entry.function {
            case featureLeaf:
                // Only 8 bits here; a larger ID is in leaf 0xB's EDX.
                entry.ebx = (entry.ebx & 0x0000_ffff)
                    | (apicID & 0xff) << initialAPICIDShift
                    | UInt32(min(1 << coreBits, 0xff)) << logicalCountShift
                if count > 1 { entry.edx |= htt } else { entry.edx &= ~htt }
                entry.ecx |= hypervisor
                if tscDeadlineTimer { entry.ecx |= tscDeadline }
            case cacheParametersLeaf:
                entry.eax = sharingCache(entry.eax, coreBits: coreBits)
                entry.eax = (entry.eax & ~packageCoresMask)
                    | UInt32(min((1 << coreBits) - 1, 0x3f)) << packageCoresShift
            case amdCacheTopologyLeaf:
                entry.eax = sharingCache(entry.eax, coreBits: coreBits)
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

    /// `supported` with the leaves `group` taken from the host `processor`'s where KVM's
    /// are zero or missing, and the host has something to say; none are added past the
    /// maximum extended leaf KVM reports.
    static func filling(_ group: ClosedRange<UInt32>, of supported: [CPUIDEntry], from processor: [CPUIDEntry]) -> [CPUIDEntry] {
        func isEmpty(_ entry: CPUIDEntry) -> Bool { entry.eax | entry.ebx | entry.ecx | entry.edx == 0 }
        let maximum = supported.first { $0.function == maximumExtendedLeaf }?.eax ?? 0
        let host = processor.filter { group.contains($0.function) }
        guard maximum >= group.upperBound, host.count == group.count, !host.allSatisfy(isEmpty),
              supported.filter({ group.contains($0.function) }).allSatisfy(isEmpty)
        else { return supported }
        var result = supported.filter { !group.contains($0.function) }
        // In order: before the first later extended leaf (the KVM leaves, 0x4000_0000 up, come last).
        let position = result.firstIndex { $0.function > group.lowerBound } ?? result.endIndex
        result.insert(contentsOf: host, at: position)
        return result
    }

    /// A cache description's EAX with its sharing count set: one core for L1 and L2, every
    /// core of the package (2^`coreBits` APIC IDs) for L3.
    static func sharingCache(_ eax: UInt32, coreBits: Int) -> UInt32 {
        let level = eax >> cacheLevelShift & cacheLevelMask
        let sharing: UInt32 = level >= lastLevelCache ? (1 << UInt32(coreBits)) - 1 : 0
        return (eax & ~cacheSharingMask) | (sharing << cacheSharingShift) & cacheSharingMask
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
