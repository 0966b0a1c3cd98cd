import Foundation
import GuestMemory
import Testing
@testable import VMM

/// The test guest as a hostile driver (guest-images/testguest/hostile.c): on a PCI disk
/// and an MMIO disk at once, it breaks a rule of virtio v1.2 and prints what the device
/// did. The VMM must run on, touch nothing outside guest RAM, set DEVICE_NEEDS_RESET
/// where the ring cannot be used (2.1.2), consume nothing after that, and work again
/// after a reset; the disk images must be untouched, since the guest only reads.
@Suite("Hostile guests on KVM: broken rings, queues, notifications and registers",
       .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct HostileGuestTests {
    static let disks = ["disk0 pci", "disk1 mmio"]
    /// What the guest reads from sector 0 once the device has been reset.
    static let afterReset = "; after reset: read sector 0: fnv " + fnv1a(DiskImages.pattern(sectors: 64)[0..<512])
    /// 64 MiB, or more than fits below the MMIO hole: RAM then ends at 0xc0000000.
    static let smallRAM: UInt64 = 64 << 20, splitRAM: UInt64 = (3 << 30) + (64 << 20)

    /// Boots the test guest with `testguest.hostile=scenario` and a virtio-pci and a
    /// virtio-mmio disk; checks that it ran to its end and wrote nothing; returns its lines.
    func run(
        _ scenario: String, memory: UInt64 = smallRAM, io: DiskConfiguration.IOMode = .vcpu, options: String = ""
    ) throws -> (lines: [String], report: MachineReport) {
        let images = try DiskImages()
        let pci = try images.make("pci.img"), mmio = try images.make("mmio.img")
        let (output, report) = try boot(
            commandLine: "console=ttyS0 testguest.quiet testguest.hostile=\(scenario) \(options)", memory: memory,
            disks: [DiskConfiguration(path: pci, transport: .pci, io: io),
                    DiskConfiguration(path: mmio, transport: .mmio, io: io)])
        let lines = unixLines(output).split(separator: "\n").map(String.init)
        #expect(report.reason == .reset, "\(output)")
        #expect(report.flushFailures.isEmpty)
        #expect(lines.contains("Goodbye: exiting with status 0."))
        let ramEnd = String(format: "0x%08x", min(memory, Layout.mmioHoleStart.rawValue))
        #expect(lines.contains("hostile \(scenario): 2 disks, RAM below 4 GiB ends at \(ramEnd)"), "\(output)")
        for image in [pci, mmio] { #expect(try images.contents(image) == DiskImages.pattern(sectors: 64)) }
        return (lines, report)
    }

    /// Each scenario with requests served on the vCPU; two of them on the I/O thread too.
    static let brokenRings: [(String, UInt64, DiskConfiguration.IOMode)] = [
        ("loop", smallRAM, .vcpu), ("outside", smallRAM, .vcpu), ("registers", smallRAM, .vcpu), ("jump", smallRAM, .vcpu),
        ("head", smallRAM, .vcpu), ("span", smallRAM, .vcpu), ("span", splitRAM, .vcpu), ("across", splitRAM, .vcpu),
        ("loop", smallRAM, .thread), ("span", splitRAM, .thread),
    ]

    @Test("2.1.2: a looping chain; a buffer outside RAM, on the device's registers, past the end of RAM or into the MMIO hole; an available index that jumps; a head past the table: NEEDS_RESET, a configuration interrupt, nothing consumed, a reset repairs",
          arguments: brokenRings)
    func brokenRing(scenario: (name: String, memory: UInt64, io: DiskConfiguration.IOMode)) throws {
        let lines = try run(scenario.name, memory: scenario.memory, io: scenario.io).lines
        for disk in Self.disks {
            let expected = "hostile \(scenario.name): \(disk): status 0x4f, used 0, interrupt 0x2; notified again: used 0" + Self.afterReset
            #expect(lines.contains(expected), "missing: \(expected)\n\(lines.joined(separator: "\n"))")
        }
    }

    @Test("2.7: queue sizes 12, 0 and 512 (above the maximum of 256), and used rings on the driver's parts, cannot be enabled: NEEDS_RESET before DRIVER_OK, so no interrupt; a request is not served")
    func unusableQueues() throws {
        for (scenario, cases) in [("qsize", ["size 12", "size 0", "size 512"]),
                                  ("overlap", ["used ring on the descriptor table", "used ring on the available ring"])] {
            let lines = try run(scenario).lines
            for disk in Self.disks {
                for name in cases {
                    let expected = "hostile \(scenario): \(disk): \(name): status 0x4b, interrupt 0x0; a request anyway: not served" + Self.afterReset
                    #expect(lines.contains(expected), "missing: \(expected)\n\(lines.joined(separator: "\n"))")
                }
            }
        }
    }

    @Test("2.7.13.3: a storm of notifications for queues 0, 1 and 0xffff with nothing available consumes nothing; one request notified 300 times is served once",
          arguments: [DiskConfiguration.IOMode.vcpu, .thread])
    func notificationStorm(io: DiskConfiguration.IOMode) throws {
        let lines = try run("storm", io: io).lines
        let read = Self.afterReset.replacingOccurrences(of: "; after reset: ", with: "")
        for disk in Self.disks {
            let expected = "hostile storm: \(disk): 3000 notifications with nothing available: used 0, status 0x0f; "
                + "one request notified 300 times: used 1, \(read)" + Self.afterReset
            #expect(lines.contains(expected), "missing: \(expected)\n\(lines.joined(separator: "\n"))")
        }
    }

    @Test("MSI-X: 100 requests, each interrupting through a message the guest just set to random contents: the VMM signals or routes them all (past the router's 64 routes with io=thread) and runs on",
          arguments: [DiskConfiguration.IOMode.vcpu, .thread])
    func randomMessages(io: DiskConfiguration.IOMode) throws {
        let lines = try run("msix", io: io).lines
        let expected = "hostile msix: disk0 pci: 100 requests, each interrupting through a new random message: 100 served" + Self.afterReset
        #expect(lines.contains(expected), "missing: \(expected)\n\(lines.joined(separator: "\n"))")
    }

    @Test("random values written to every register of the UART, CMOS, i8042, absent ports, PCI configuration space, virtio-pci BARs and virtio-mmio windows: the VMM runs on and each disk works after a reset",
          arguments: [(1, DiskConfiguration.IOMode.vcpu), (2, .thread)])
    func scrambledRegisters(seed: Int, io: DiskConfiguration.IOMode) throws {
        let (lines, report) = try run("scramble", io: io, options: "testguest.seed=\(seed)")
        for phase in ["legacy ports", "PCI configuration space", "virtio registers"] {
            #expect(lines.contains { $0.hasPrefix("hostile scramble: \(phase): ") && !$0.hasPrefix("hostile scramble: \(phase): 0 writes") })
        }
        for disk in Self.disks {
            #expect(lines.contains("hostile scramble: \(disk): registers scrambled" + Self.afterReset), "\(lines.joined(separator: "\n"))")
        }
        // Ports with no device behind them were written too, and counted.
        #expect(report.unknownPortAccesses > 0)
    }
}
