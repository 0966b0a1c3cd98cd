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
        let entries = CPUID.entries(for: 2, of: 4, supported: hostCPUID)
        let one = try #require(leaf(entries, 1))
        #expect(one.ebx >> 24 == 2)
        #expect(one.ebx >> 16 & 0xff == 4)
        #expect(one.ebx & 0xffff == 0x0800)          // CLFLUSH size kept
        #expect(one.edx & CPUID.htt != 0)
        let single = try #require(leaf(CPUID.entries(for: 0, of: 1, supported: hostCPUID), 1))
        #expect(single.edx & CPUID.htt == 0)
        #expect(single.ebx >> 16 & 0xff == 1)
    }

    @Test("SDM vol. 2A leaf 0xB: an SMT level of 1, a core level of N, an end marker; EDX is the x2APIC ID in each")
    func extendedTopology() throws {
        let entries = CPUID.entries(for: 5, of: 6, supported: hostCPUID)
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
        let entries = CPUID.entries(for: 3, of: 4, supported: hostCPUID)
        let size = try #require(leaf(entries, 0x8000_0008))
        #expect(size.ecx & 0xff == 3)                 // NC: cores - 1
        #expect(size.ecx >> 12 & 0xf == 2)            // ApicIdSize: 2 bits
        #expect(size.eax == 0x3030)                   // address sizes kept
        let extended = try #require(leaf(entries, 0x8000_001e))
        #expect(extended.eax == 3 && extended.ebx == 3 && extended.ecx == 0)
        #expect(try #require(leaf(entries, 0x8000_0001)).ecx & CPUID.cmpLegacy != 0)
        let single = CPUID.entries(for: 0, of: 1, supported: hostCPUID)
        #expect(try #require(leaf(single, 0x8000_0001)).ecx & CPUID.cmpLegacy == 0)
        #expect(try #require(leaf(single, 0x8000_0008)).ecx & 0xf0ff == 0)
    }

    @Test("vCPUs beyond 255 keep the low 8 bits in leaf 1 and their full ID in leaves 0xB and 0x8000_001E")
    func largeIDs() throws {
        let entries = CPUID.entries(for: 300, of: 400, supported: hostCPUID)
        #expect(try #require(leaf(entries, 1)).ebx >> 24 == 300 & 0xff)
        #expect(try #require(leaf(entries, 0xb, 1)).edx == 300)
        #expect(try #require(leaf(entries, 0x8000_001e)).eax == 300)
        #expect(CPUID.bitsToNumber(1) == 0 && CPUID.bitsToNumber(2) == 1 && CPUID.bitsToNumber(4) == 2)
        #expect(CPUID.bitsToNumber(5) == 3 && CPUID.bitsToNumber(400) == 9)
    }
}
