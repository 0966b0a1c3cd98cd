import Dispatch
import Testing
@testable import VMM

/// Boots the test guest with `instrumentation`; returns its console output and the report.
func bootInstrumented(
    commandLine: String, disks: [DiskConfiguration] = [], instrumentation: Instrumentation
) throws -> (output: String, report: MachineReport) {
    let output = CapturedOutput()
    let configuration = MachineConfiguration(
        kernel: .file(Repository.testGuestELF), commandLine: "console=ttyS0 " + commandLine,
        memorySize: 64 << 20, disks: disks)
    let machine = try Machine.build(configuration, console: Console(output: output, inputFD: nil), instrumentation: instrumentation)
    let report = machine.run()
    return (output.text, report)
}

@Suite("Tracing, statistics and console checks on KVM", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct InstrumentationTests {
    @Test("testguest.outs=N: the stats count exactly N port-0x80 writes handled by 'post', the trace has exactly N lines for the port, and the console's exits match its output",
          arguments: [0, 1, 2500])
    func exactCounts(writes: Int) throws {
        let trace = TracePipe()
        let (output, report) = try bootInstrumented(
            commandLine: "testguest.quiet testguest.outs=\(writes)",
            instrumentation: Instrumentation(trace: [.io], traceWriter: trace.writer, collectsStatistics: true))
        #expect(report.reason == .reset)
        #expect(output.contains("outs: \(writes) done"))
        let statistics = try #require(report.statistics)
        #expect(statistics.count("io-out", device: "post") == writes)
        // Unwrapped before comparing: AddressSanitizer flags Swift Testing's handling of
        // an optional 8-byte integer in `==` (it copies 9 bytes from an 8-byte slot).
        #expect(statistics.exitsByDevice.first { $0.device == "post" }.map(\.count) ?? 0 == writes)

        let lines = ParsedTraceLine.parse(trace.text())
        #expect(lines.filter { $0.fields["port"] == "0x80" }.count == writes)
        #expect(lines.filter { $0.fields["port"] == "0x80" }.allSatisfy { $0.event == "io-out" && $0.fields["device"] == "post" })
        // Every port exit is traced once, and counted once.
        for reason in ["io-in", "io-out"] {
            for device in ["com1", "post", "i8042"] {
                #expect(lines.filter { $0.event == reason && $0.fields["device"] == device }.count
                        == statistics.count(reason, device: device), "\(reason) \(device)")
            }
        }
        // The console: each byte the guest printed is one write of THR (0x3f8, DLAB clear),
        // plus the one write of the divisor latch's low byte at the same port.
        let thrWrites = lines.filter { $0.event == "io-out" && $0.fields["port"] == "0x3f8" }.count
        #expect(thrWrites == output.utf8.count + 1)
        #expect(statistics.count("io-out", device: "com1") > output.utf8.count)
        // Times only go forward, and the vCPU spent time both in KVM_RUN and in the VMM.
        #expect(zip(lines, lines.dropFirst()).allSatisfy { $0.seconds <= $1.seconds })
        let vcpu = try #require(statistics.vcpus.first)
        #expect(vcpu.exits == statistics.exits.reduce(0) { $0 + $1.count })
        #expect(vcpu.inKVMRun > 0 && vcpu.inVMM > 0)
    }

    @Test("the boot timeline's milestones come in order, the ready marker among them")
    func timeline() throws {
        let origin = MonotonicClock.now()
        let (_, report) = try bootInstrumented(
            commandLine: "testguest.quiet",
            instrumentation: Instrumentation(origin: origin, collectsStatistics: true, readyMarker: "CPUs: 1 of 1 running"))
        let timeline = try #require(report.statistics?.timeline)
        let times = [timeline.vmReady, timeline.firstGuestEntry, timeline.firstConsoleByte, timeline.readyMarker, timeline.exit]
        #expect(times.allSatisfy { $0 != nil }, "\(timeline)")
        let known = times.compactMap { $0 }
        #expect(known == known.sorted())
        #expect(timeline.milestones.map(\.name) == [
            "process start", "VM ready", "first guest instruction", "first console byte", "ready marker", "exit"])
    }

    @Test("--expect: the string's appearance stops a guest that would run for minutes, cleanly (status 0)")
    func expectedOutputStops() throws {
        let start = MonotonicClock.now()
        let (output, report) = try bootInstrumented(
            commandLine: "testguest.quiet testguest.outs=10000000",
            instrumentation: Instrumentation(expectedOutput: "CPUs: 1 of 1 running", timeout: 60))
        #expect(report.reason == .expectedOutput)
        #expect(report.reason.exitStatus == ExitStatus.success)
        #expect(report.sawExpectedOutput)
        #expect(output.contains("CPUs: 1 of 1 running"))
        #expect(!output.contains("outs: 10000000 done"))
        #expect(MonotonicClock.now() - start < 30_000_000_000)
    }

    @Test("--timeout: a guest still running is stopped with status 124, and the last console lines are kept")
    func timeout() throws {
        let (_, report) = try bootInstrumented(
            commandLine: "testguest.quiet testguest.outs=10000000",
            instrumentation: Instrumentation(expectedOutput: "never printed", timeout: 0.5))
        #expect(report.reason == .timedOut)
        #expect(report.reason.exitStatus == ExitStatus.timedOut)
        #expect(!report.sawExpectedOutput)
        #expect(report.lastConsoleLines.last == "  CPUs: 1 of 1 running")
    }

    @Test("disk byte counters match what the guest's disk test moves; the virtio trace has one request line per request",
          arguments: [(DiskConfiguration.Transport.pci, DiskConfiguration.IOMode.vcpu), (.mmio, .thread)])
    func diskCounters(transport: DiskConfiguration.Transport, io: DiskConfiguration.IOMode) throws {
        let images = try DiskImages()
        let trace = TracePipe()
        let (output, report) = try bootInstrumented(
            commandLine: "testguest.quiet testguest.disk",
            disks: [DiskConfiguration(path: try images.make("rw.img"), transport: transport, io: io),
                    DiskConfiguration(path: try images.make("ro.img"), readOnly: true, transport: transport, io: io)],
            instrumentation: Instrumentation(trace: [.mmio, .virtio], traceWriter: trace.writer, collectsStatistics: true))
        #expect(output.contains("disk0: read back sector 1: matches"))
        let disks = try #require(report.statistics?.disks)
        // The guest reads sector 0, the last sector and (read-write) sector 1 back, and
        // over PCI sector 0 once more with MSI-X on; it writes sector 1 (refused when
        // read-only). GET_ID's answer is not disk data; failed requests move nothing.
        let pciRead = transport == .pci ? 512 : 0
        #expect(disks.map(\.bytesRead) == [UInt64(1536 + pciRead), UInt64(1024 + pciRead)])
        #expect(disks.map(\.bytesWritten) == [512, 0])
        #expect(disks.map(\.path) == [images.directory + "/rw.img", images.directory + "/ro.img"])

        let lines = ParsedTraceLine.parse(trace.text())
        for disk in disks {
            let requests = lines.filter { $0.source == disk.device && $0.event == "request" }
            #expect(requests.count == disk.requests)
            let moved = requests.filter { $0.fields["type"] == "IN" }.reduce(0) { $0 + UInt64($1.fields["bytes"]!)! }
            #expect(moved == disk.bytesRead)
            #expect(lines.contains { $0.source == disk.device && $0.event == "notify" })
            #expect(lines.contains { $0.source == disk.device && $0.event == "interrupt" })
            #expect(lines.contains { $0.source == disk.device && $0.event == "status" && $0.fields["bits"]?.contains("DRIVER_OK") == true })
        }
        #expect(lines.contains { $0.event == "request" && $0.fields["type"] == "OUT" && $0.fields["status"] == "IOERR" })
        if io == .vcpu {
            // One thread does it all: the lines come in time order, and each notification
            // follows the guest's write that made it (the exit's line comes first).
            #expect(zip(lines, lines.dropFirst()).allSatisfy { $0.seconds <= $1.seconds })
            let notifications = lines.indices.filter { lines[$0].event == "notify" }
            #expect(!notifications.isEmpty)
            #expect(notifications.allSatisfy { $0 > 0 && lines[$0 - 1].event == "mmio-write" })
        } else {
            // KVM's ioeventfd takes the notification: no exit, only the virtio lines.
            #expect(!lines.contains { $0.event == "mmio-write" && $0.fields["address"] == "0xd0000050" })
        }
        #expect(lines.contains { $0.event == "request" && $0.fields["type"] == "type-127" && $0.fields["status"] == "UNSUPP" })
    }

    @Test("testguest.diskbench=N: N reads of 4 KiB are N * 4096 bytes read")
    func benchBytes() throws {
        let images = try DiskImages()
        let (output, report) = try bootInstrumented(
            commandLine: "testguest.quiet testguest.diskbench=40",
            disks: [DiskConfiguration(path: try images.make("bench.img"))],
            instrumentation: Instrumentation(collectsStatistics: true))
        #expect(output.contains("diskbench: 40 reads of 4096 bytes, depth 1, 0 failed"))
        let disk = try #require(report.statistics?.disks.first)
        #expect(disk.bytesRead == 40 * 4096)
        #expect(disk.requests == 40)
    }

    @Test("without instrumentation there are no monitors, no console watch and no statistics")
    func offMeansOff() throws {
        let machine = try Machine.build(
            MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20),
            console: Console(output: CapturedOutput(), inputFD: nil))
        #expect(machine.monitors.isEmpty)
        #expect(machine.consoleWatch == nil)
        #expect(machine.disks.allSatisfy { $0.monitor == nil })
        #expect(machine.run().statistics == nil)
    }
}
