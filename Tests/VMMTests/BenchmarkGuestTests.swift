import GuestMemory
import Testing
@testable import VMM

/// The test guest's options the benchmarks (benchmarks/bench.py) rely on.
@Suite("The benchmark guest's exits", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct BenchmarkGuestTests {
    @Test("testguest.mmio=N: exactly N writes to Layout.unbackedMMIO, each an MMIO exit no device answers")
    func mmioWrites() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.mmio=1000")
        #expect(output.contains("mmio: 1000 done"))
        #expect(report.unknownMMIOAccesses == 1000)
        #expect(report.reason == .reset)
    }

    @Test("Layout.unbackedMMIO lies in the MMIO hole, outside RAM for every memory size")
    func unbackedPageIsNotRAM() throws {
        for size: UInt64 in [64 << 20, 3 << 30, 4 << 30] {
            let memory = try GuestMemory(size: size)
            #expect(!memory.contains(Layout.unbackedMMIO, length: Layout.pageSize))
        }
        #expect(Layout.unbackedMMIO >= Layout.mmioHoleStart)
        #expect(Layout.unbackedMMIO.rawValue + Layout.pageSize <= Layout.ioAPIC.rawValue)
    }
}
