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

    @Test("testguest.flushbench: two disks, two vCPUs; disk 1 is read with disk 0 idle, then while vCPU 1 flushes it",
          arguments: [DiskConfiguration.Transport.pci, .mmio])
    func flushBench(transport: DiskConfiguration.Transport) throws {
        let images = try DiskImages()
        let disks = [DiskConfiguration(path: try images.make("flushed.img", sectors: 4 << 11), transport: transport),
                     DiskConfiguration(path: try images.make("read.img"), transport: transport)]
        let (output, report) = try boot(
            commandLine: "testguest.quiet testguest.flushbench=20,write=2", vcpus: 2, disks: disks)
        #expect(report.reason == .reset)
        for line in ["flushbench: 2 MiB written to disk 0", "flushbench: reading, disk 0 idle",
                     "flushbench: 20 reads, disk 0 idle", "flushbench: reading, disk 0 flushing"] {
            #expect(output.contains(line), "\(line)")
        }
        #expect(output.contains(" reads, disk 0 flushing, status 0"))
        #expect(!output.contains("some reads failed"))
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
