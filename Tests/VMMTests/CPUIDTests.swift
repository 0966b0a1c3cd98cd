import CKVM
import KVM
import Testing
@testable import VMM

/// What KVM_GET_SUPPORTED_CPUID reported on an AMD host, trimmed to the leaves that
/// describe the topology.
let hostCPUID: [CPUIDEntry] = [
    CPUIDEntry(function: 0, eax: 0x1c, ebx: 0x6874_7541, ecx: 0x444d_4163, edx: 0x6974_6e65),
    CPUIDEntry(function: 1, eax: 0x00b0_0f21, ebx: 0x0002_0800, ecx: 0x8120_2000, edx: 0x078b_fbff),
    CPUIDEntry(function: 0xb, flags: 1),
    CPUIDEntry(function: 0x8000_0001, eax: 0x00b0_0f21, ebx: 0x4000_0000, ecx: 0x0040_0393, edx: 0x23d3_fbff),
    CPUIDEntry(function: 0x8000_0008, eax: 0x3030, ebx: 0x5002_0005, ecx: 0x7001),
    CPUIDEntry(function: 0x8000_001e),
]

func leaf(_ entries: [CPUIDEntry], _ function: UInt32, _ index: UInt32 = 0) -> CPUIDEntry? {
    entries.first { $0.function == function && $0.index == index }
}

@Suite("CPUID per vCPU: one package, one core per vCPU")
struct CPUIDTests {
    @Test("SDM vol. 2A CPUID leaf 1: EBX[31:24] is the vCPU's APIC ID, EBX[23:16] the addressable IDs, HTT set with more than one")
    func featureLeaf() throws {
        let entries = CPUID.entries(for: 2, of: 4, host: CPUID.Host(supported: hostCPUID))
        let one = try #require(leaf(entries, 1))
        #expect(one.ebx >> 24 == 2)
        #expect(one.ebx >> 16 & 0xff == 4)
        #expect(one.ebx & 0xffff == 0x0800)          // CLFLUSH size kept
        #expect(one.edx & CPUID.htt != 0)
        let single = try #require(leaf(CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: hostCPUID)), 1))
        #expect(single.edx & CPUID.htt == 0)
        #expect(single.ebx >> 16 & 0xff == 1)
    }

    @Test("SDM vol. 2A leaf 0xB: an SMT level of 1, a core level of N, an end marker; EDX is the x2APIC ID in each")
    func extendedTopology() throws {
        let entries = CPUID.entries(for: 5, of: 6, host: CPUID.Host(supported: hostCPUID))
        let levels = entries.filter { $0.function == 0xb }
        #expect(levels.map(\.index) == [0, 1, 2])
        #expect(levels.allSatisfy { $0.edx == 5 && $0.flags == UInt32(KVM_CPUID_FLAG_SIGNIFCANT_INDEX) })
        #expect(levels[0].eax == 0 && levels[0].ebx == 1 && levels[0].ecx == 0x100)
        #expect(levels[1].eax == 3 && levels[1].ebx == 6 && levels[1].ecx == 0x201)   // 3 bits number 6 cores
        #expect(levels[2].ebx == 0 && levels[2].ecx >> 8 & 0xff == 0)
        #expect(!entries.contains { $0.function == 0x1f })   // not offered by this host, not invented
    }

    @Test("AMD APM vol. 3 E.4: 0x8000_0008 counts the cores, 0x8000_001E carries the APIC ID, CmpLegacy says cores")
    func amdLeaves() throws {
        let entries = CPUID.entries(for: 3, of: 4, host: CPUID.Host(supported: hostCPUID))
        let size = try #require(leaf(entries, 0x8000_0008))
        #expect(size.ecx & 0xff == 3)                 // NC: cores - 1
        #expect(size.ecx >> 12 & 0xf == 2)            // ApicIdSize: 2 bits
        #expect(size.eax == 0x3030)                   // address sizes kept
        let extended = try #require(leaf(entries, 0x8000_001e))
        #expect(extended.eax == 3 && extended.ebx == 3 && extended.ecx == 0)
        #expect(try #require(leaf(entries, 0x8000_0001)).ecx & CPUID.cmpLegacy != 0)
        let single = CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: hostCPUID))
        #expect(try #require(leaf(single, 0x8000_0001)).ecx & CPUID.cmpLegacy == 0)
        #expect(try #require(leaf(single, 0x8000_0008)).ecx & 0xf0ff == 0)
    }

    @Test("vCPUs beyond 255 keep the low 8 bits in leaf 1 and their full ID in leaves 0xB and 0x8000_001E")
    func largeIDs() throws {
        let entries = CPUID.entries(for: 300, of: 400, host: CPUID.Host(supported: hostCPUID))
        #expect(try #require(leaf(entries, 1)).ebx >> 24 == 300 & 0xff)
        #expect(try #require(leaf(entries, 0xb, 1)).edx == 300)
        #expect(try #require(leaf(entries, 0x8000_001e)).eax == 300)
        #expect(CPUID.bitsToNumber(1) == 0 && CPUID.bitsToNumber(2) == 1 && CPUID.bitsToNumber(4) == 2)
        #expect(CPUID.bitsToNumber(5) == 3 && CPUID.bitsToNumber(400) == 9)
    }
}

@Suite("CPUID: what KVM leaves to user space (api.rst 9.1)")
struct CPUIDUserSpaceTests {
    @Test("AMD APM vol. 3 E.3.2: leaf 1 ECX bit 31 says a hypervisor runs the CPU, so Linux reads the KVM leaves and uses kvm-clock")
    func hypervisorBit() throws {
        var host = hostCPUID
        host[1].ecx &= ~CPUID.hypervisor                  // real KVM does not set it
        let one = try #require(leaf(CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: host)), 1))
        #expect(one.ecx & CPUID.hypervisor != 0)
        #expect(one.ecx & ~(CPUID.hypervisor | CPUID.tscDeadline) == host[1].ecx & ~CPUID.tscDeadline)
    }

    @Test("api.rst 9.1: TSC-deadline mode (leaf 1 ECX bit 24) is offered exactly when KVM_CAP_TSC_DEADLINE_TIMER is present")
    func tscDeadline() throws {
        var host = hostCPUID
        host[1].ecx &= ~CPUID.tscDeadline                  // as KVM_GET_SUPPORTED_CPUID before Linux 6.15
        let with = try #require(leaf(CPUID.entries(for: 0, of: 2, host: CPUID.Host(supported: host, tscDeadlineTimer: true)), 1))
        let without = try #require(leaf(CPUID.entries(for: 0, of: 2, host: CPUID.Host(supported: host)), 1))
        #expect(with.ecx & CPUID.tscDeadline != 0)
        #expect(without.ecx & CPUID.tscDeadline == 0)
    }

    @Test("the KVM leaves 0x4000_0000 and 0x4000_0001 pass through unchanged")
    func kvmLeaves() throws {
        let signature = CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4b4d_564b, ecx: 0x564b_4d56, edx: 0x4d)
        let features = CPUIDEntry(function: 0x4000_0001, eax: 0x0100_7efb)
        let entries = CPUID.entries(for: 1, of: 2, host: CPUID.Host(supported: hostCPUID + [signature, features]))
        #expect(leaf(entries, 0x4000_0000) == signature)
        #expect(leaf(entries, 0x4000_0001) == features)
    }

    @Test("SDM vol. 2A leaf 4 / AMD APM E.4.15 0x8000_001D: L1 and L2 per core, L3 shared by every core of the package")
    func caches() throws {
        let flags = UInt32(KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
        // Host values: L1d, L2, L3 each claiming 16 sharing threads (bits 25-14 = 15).
        let sharing16: UInt32 = 15 << 14
        let caches = [(1, 0x21), (2, 0x43), (3, 0x63)].flatMap { index, type in
            [CPUIDEntry(function: 4, index: UInt32(index), flags: flags, eax: UInt32(type) | sharing16 | 0xfc00_0000),
             CPUIDEntry(function: 0x8000_001d, index: UInt32(index), flags: flags, eax: UInt32(type) | sharing16)]
        }
        let entries = CPUID.entries(for: 0, of: 3, host: CPUID.Host(supported: hostCPUID + caches))
        for function: UInt32 in [4, 0x8000_001d] {
            #expect(try #require(leaf(entries, function, 1)).eax >> 14 & 0xfff == 0)   // L1: one core
            #expect(try #require(leaf(entries, function, 2)).eax >> 14 & 0xfff == 0)   // L2: one core
            #expect(try #require(leaf(entries, function, 3)).eax >> 14 & 0xfff == 3)   // L3: 4 APIC IDs (3 cores)
            #expect(try #require(leaf(entries, function, 3)).eax & 0x3fff == 0x63)     // type and level kept
        }
        #expect(try #require(leaf(entries, 4, 1)).eax >> 26 == 3)                      // cores per package - 1
    }

    @Test("the brand string and the L1 cache leaf come from the host processor where KVM's are empty, never past the maximum extended leaf")
    func brandString() throws {
        let name = [
            CPUIDEntry(function: 0x8000_0002, eax: 0x2044_4d41, ebx: 0x4359_5045),   // "AMD EPYC"
            CPUIDEntry(function: 0x8000_0003), CPUIDEntry(function: 0x8000_0004),
        ]
        let withEmpty = hostCPUID + [CPUIDEntry(function: 0x8000_0000, eax: 0x8000_0008)]
            + (2...4).map { CPUIDEntry(function: 0x8000_0000 + UInt32($0)) }
        let entries = CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: withEmpty, processor: name))
        #expect(leaf(entries, 0x8000_0002) == name[0])
        #expect(entries.filter { (0x8000_0002...0x8000_0004).contains($0.function) }.count == 3)
        // Missing from KVM's list (as Linux 6.1's KVM leaves them out): added, in order.
        let missing = (hostCPUID + [CPUIDEntry(function: 0x8000_0000, eax: 0x8000_001e)]).sorted { $0.function < $1.function }
        let added = CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: missing, processor: name))
        let functions = added.map(\.function).filter { $0 >= 0x8000_0000 }
        #expect(functions == functions.sorted())
        #expect(leaf(added, 0x8000_0002) == name[0])
        // KVM names the processor itself: kept.
        let named = withEmpty.map { $0.function == 0x8000_0003 ? CPUIDEntry(function: $0.function, eax: 0x41) : $0 }
        #expect(leaf(CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: named, processor: name)), 0x8000_0002)
                == CPUIDEntry(function: 0x8000_0002))
        // A maximum extended leaf below 0x8000_0004: the guest would not read them.
        let short = hostCPUID.filter { $0.function < 0x8000_0000 } + [CPUIDEntry(function: 0x8000_0000, eax: 0x8000_0001)]
        #expect(leaf(CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: short, processor: name)), 0x8000_0002) == nil)
        // The L1 cache and TLB leaf, on its own: filled when KVM's is empty, as the name is.
        let caches = CPUIDEntry(function: 0x8000_0005, eax: 0xff48_ff40, ebx: 0xff48_ff40, ecx: 0x2008_0140, edx: 0x2008_0140)
        let filled = CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: withEmpty, processor: name + [caches]))
        #expect(leaf(filled, 0x8000_0005) == caches)
        let kept = withEmpty + [CPUIDEntry(function: 0x8000_0005, eax: 1)]
        #expect(leaf(CPUID.entries(for: 0, of: 1, host: CPUID.Host(supported: kept, processor: name + [caches])), 0x8000_0005)
                == CPUIDEntry(function: 0x8000_0005, eax: 1))
    }
}
