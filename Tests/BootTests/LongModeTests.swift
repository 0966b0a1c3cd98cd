import Testing
@testable import Boot
import GuestMemory

@Suite("Entering long mode: page tables, GDT, registers (SDM vol. 3A; boot.rst 64-bit protocol)")
struct LongModeTests {
    /// Walks the 4-level tables in `bytes` (placed at Layout.pageTables) as the MMU would,
    /// and returns the physical address `virtual` maps to, or nil where a level is not present.
    func translate(_ virtual: UInt64, in bytes: [UInt8]) -> UInt64? {
        let fields = ByteFields(bytes)
        func entry(_ table: UInt64, _ index: UInt64) -> UInt64? {
            let offset = Int(table - Layout.pageTables.rawValue) + Int(index) * 8
            guard offset >= 0, offset + 8 <= bytes.count else { return nil }
            return fields.read(UInt64.self, at: offset)
        }
        let addressMask: UInt64 = 0x000f_ffff_ffff_f000
        guard let pml4e = entry(PageTables.pml4.rawValue, (virtual >> 39) & 511), pml4e & 1 != 0,
              let pdpte = entry(pml4e & addressMask, (virtual >> 30) & 511), pdpte & 1 != 0,
              let pde = entry(pdpte & addressMask, (virtual >> 21) & 511), pde & 1 != 0
        else { return nil }
        guard pde & (1 << 7) != 0 else { return nil }  // this map uses 2 MiB pages only
        return (pde & 0x000f_ffff_ffe0_0000) | (virtual & 0x1f_ffff)
    }

    @Test("the page tables identity-map the first 4 GiB with writable 2 MiB pages")
    func identityMap() {
        let bytes = PageTables.bytes
        #expect(bytes.count == Int(Layout.pageTablesSize))
        for address: UInt64 in [0, 0x7000, 0x10_0200, 0x1234_5678, 0xc000_0000, 0xfee0_0300, 0xffff_ffff] {
            #expect(translate(address, in: bytes) == address, "0x\(String(address, radix: 16))")
        }
        // Beyond 4 GiB nothing is mapped: the kernel builds its own tables for that.
        #expect(translate(1 << 32, in: bytes) == nil)
        // Every entry that is present is writable, and every page-directory entry is a 2 MiB page.
        let fields = ByteFields(bytes)
        for directory in 0..<4 {
            for index in 0..<512 {
                let entry = fields.read(UInt64.self, at: (2 + directory) * 4096 + index * 8)!
                #expect(entry & 0b1000_0011 == 0b1000_0011)
            }
        }
    }

    @Test("the page tables fit between the zero page's stack and the command line")
    func tablesPlacement() {
        #expect(Layout.pageTables.rawValue >= Layout.bootStackTop.rawValue)
        #expect(Layout.pageTables.rawValue + Layout.pageTablesSize <= Layout.commandLine.rawValue)
    }

    @Test("GDT: __BOOT_CS (0x10) is flat 64-bit code, __BOOT_DS (0x18) flat data, 0x20 a busy TSS")
    func gdt() {
        #expect(GDT.limit == 6 * 8 - 1)
        let code = GDT.descriptor(GDT.codeSelector)
        #expect(code.selector == 0x10)
        #expect(code.base == 0 && code.limit == 0xffff_ffff)
        #expect(code.type == 0xb && code.s && code.present && code.dpl == 0)
        #expect(code.l && !code.db && code.g)  // L set requires D clear (SDM 3.4.5)
        let data = GDT.descriptor(GDT.dataSelector)
        #expect(data.selector == 0x18)
        #expect(data.base == 0 && data.limit == 0xffff_ffff)
        #expect(data.type == 0x3 && data.s && data.present && !data.l && data.db)
        let tss = GDT.descriptor(GDT.tssSelector)
        #expect(tss.type == 0xb && !tss.s && tss.present)
        // The null descriptors really are null, and the byte image matches the entries.
        let bytes = GDT.bytes
        #expect(bytes.count == 48)
        #expect(bytes[0x28..<0x30].allSatisfy { $0 == 0 })  // the TSS descriptor's upper half
        #expect(Layout.gdt.rawValue + UInt64(bytes.count) <= Layout.idt.rawValue)
        #expect(bytes[0..<16].allSatisfy { $0 == 0 })
        #expect(ByteFields(bytes).read(UInt64.self, at: 0x10) == 0x00af_9b00_0000_ffff)
        #expect(ByteFields(bytes).read(UInt64.self, at: 0x18) == 0x00cf_9300_0000_ffff)
    }

    @Test("segment descriptors decode what they encode")
    func descriptorRoundTrip() {
        let encoded = SegmentDescriptor.encode(base: 0x1234_5678, limit: 0xabcde, access: 0x9a, flags: 0x4)
        let decoded = SegmentDescriptor(selector: 0x8, encoded: encoded)
        #expect(decoded.base == 0x1234_5678)
        #expect(decoded.limit == 0xabcde)  // G clear: the limit is in bytes
        #expect(decoded.type == 0xa && decoded.s && decoded.present && decoded.db && !decoded.g)
    }

    @Test("at entry: long mode with paging, the identity map in CR3, interrupts off, RSI = zero page")
    func registers() throws {
        let plan = try BootPlan.plan(kernel: Fixtures.bzImage, initrdSize: nil, commandLine: "", ramSize: 64 << 20)
        let cpu = plan.cpu
        #expect(cpu.cr0 & 1 != 0)  // PE
        #expect(cpu.cr0 & (1 << 31) != 0)  // PG
        #expect(cpu.cr4 & (1 << 5) != 0)  // PAE
        #expect(cpu.efer & (1 << 8) != 0)  // LME
        #expect(cpu.efer & (1 << 10) != 0)  // LMA
        #expect(cpu.cr3 == Layout.pageTables.rawValue)
        #expect(cpu.rflags == 0x2)  // reserved bit 1 only: IF clear
        #expect(cpu.rsi == Layout.zeroPage.rawValue)
        #expect(cpu.rip == 0x10_0200)
        #expect(cpu.gdtBase == Layout.gdt.rawValue && cpu.gdtLimit == GDT.limit)
        #expect(cpu.codeSegment.selector == 0x10 && cpu.dataSegment.selector == 0x18)
        // The stack and every boot structure lie in the identity map and in RAM below 640 KiB.
        for address in [cpu.rsp, cpu.rsi, cpu.gdtBase, cpu.cr3, Layout.commandLine.rawValue] {
            #expect(address < Layout.ebdaStart.rawValue)
            #expect(translate(address, in: PageTables.bytes) == address)
        }
    }

    @Test("the planned writes never overlap one another")
    func writesDisjoint() throws {
        let plan = try BootPlan.plan(
            kernel: Fixtures.bzImage, initrdSize: 1 << 20, commandLine: "x", ramSize: 64 << 20)
        var ranges = plan.writes.map { ($0.address.rawValue, $0.address.rawValue + UInt64($0.bytes.count)) }
        ranges.append((plan.initrd!.address.rawValue, plan.initrd!.address.rawValue + plan.initrd!.size))
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            #expect(a.1 <= b.0)
        }
    }
}
