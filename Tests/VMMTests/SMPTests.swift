import CKVM
import Dispatch
import Foundation
import KVM
import Locking
import Testing
@testable import VMM

/// The lines the test guest's APs print: "smp: CPU with APIC ID n is up (CPUID: initial
/// APIC ID i, x2APIC ID x)", as (n, i, x).
func reportedCPUs(_ output: String) -> [(apicID: Int, initial: Int, x2APIC: Int)] {
    output.split(whereSeparator: \.isNewline).compactMap { line in
        guard line.hasPrefix("smp: CPU with APIC ID ") else { return nil }
        let numbers = line.replacingOccurrences(of: "x2APIC", with: "")
            .split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return numbers.count == 3 ? (numbers[0], numbers[1], numbers[2]) : nil
    }
}

/// The console's text with the UART's CR LF line ends made LF.
func unixLines(_ output: String) -> String { output.replacingOccurrences(of: "\r\n", with: "\n") }

@Suite("More than one CPU on KVM: ACPI, INIT-SIPI-SIPI, stopping them all", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct SMPTests {
    @Test("the guest finds N CPUs in the MADT and starts every AP; each reports its own APIC ID in the LAPIC and CPUID", arguments: [1, 2, 4])
    func everyAPArrives(vcpus: Int) throws {
        let (console, report) = try boot(commandLine: "testguest.quiet", vcpus: vcpus)
        let output = unixLines(console)
        let ids = (0..<vcpus).map(String.init).joined(separator: " ")
        #expect(output.contains("CPUs: \(vcpus) in the ACPI MADT (RSDP at 0x000e0000 from the zero page), APIC IDs \(ids)\n"))
        let reported = reportedCPUs(output)
        #expect(reported.map(\.apicID).sorted() == Array(1..<vcpus))
        #expect(reported.allSatisfy { $0.initial == $0.apicID && $0.x2APIC == $0.apicID })
        #expect(output.contains("CPUs: \(vcpus) of \(vcpus) running\n"))
        #expect(report.reason == .reset)
        #expect(report.unknownPortAccesses == 0)
    }

    @Test("api.rst 4.38: after build the boot processor is runnable and every AP uninitialized, waiting for INIT")
    func mpStates() throws {
        let configuration = MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20, vcpuCount: 3)
        let machine = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil))
        let states = try machine.threads.map { try $0.vcpu.getMPState() }
        #expect(states == [UInt32(KVM_MP_STATE_RUNNABLE), UInt32(KVM_MP_STATE_UNINITIALIZED), UInt32(KVM_MP_STATE_UNINITIALIZED)])
    }

    @Test("a guest that starts an AP twice, starts an APIC ID nobody has and sends IPIs to nowhere does not wedge the VMM", arguments: [1, 2])
    func hostileStartUps(vcpus: Int) throws {
        let started = Date()
        let (console, report) = try boot(
            commandLine: "testguest.quiet testguest.startagain testguest.ipinowhere testguest.startmissing", vcpus: vcpus)
        let output = unixLines(console)
        #expect(output.contains("smp: sent fixed, NMI, start-up and empty logical IPIs to APIC ID \(vcpus), which no CPU has"))
        #expect(output.contains("smp: APIC ID \(vcpus), which the MADT does not list, did not start"))
        if vcpus > 1 {
            #expect(output.contains("smp: APIC ID 1 started a second time"))
            #expect(reportedCPUs(output).map(\.apicID) == [1, 1])
        }
        #expect(output.contains("CPUs: \(vcpus) of \(vcpus) running\n"))
        #expect(report.reason == .reset)
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test("an AP that writes the debug-exit port stops the machine while the boot processor spins in the guest")
    func apEndsTheRun() throws {
        let started = Date()
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.apexit=5", vcpus: 4)
        #expect(report.reason == .debugExit(value: 5))
        #expect(reportedCPUs(output).map(\.apicID) == [1, 2, 3])
        #expect(!output.contains("Goodbye"))   // the BSP never got that far
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test("a triple fault on one AP stops every vCPU and is reported with that vCPU's number and RIP")
    func apTripleFault() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.aptriplefault", vcpus: 3)
        #expect(reportedCPUs(output).map(\.apicID) == [1, 2])
        guard case .tripleFault(let vcpu, let rip) = report.reason else {
            Issue.record("expected a triple fault, got \(report.reason)")
            return
        }
        #expect(vcpu == 2)
        #expect(rip != nil)
    }

    @Test("devices flush after every vCPU thread has left KVM_RUN, before run() returns; a failed flush is reported")
    func flushAfterTheVCPUs() throws {
        struct DiskFull: Error {}
        let seen = Locked<[(loopsRunning: Int, state: Lifecycle.State)]>([])
        let machineBox = Locked<Machine?>(nil)
        let check = DeviceFlush(device: "checker") {
            guard let machine = machineBox.withLock({ $0 }) else { return }
            let loopsRunning = machine.threads.filter(\.isLiving).count
            usleep(100_000)  // run() must wait for a slow flush
            seen.withLock { $0.append((loopsRunning, machine.lifecycle.current)) }
        }
        let failing = DeviceFlush(device: "disk /tmp/full.img") { throw DiskFull() }
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF), commandLine: "testguest.quiet", memorySize: 64 << 20, vcpuCount: 2)
        let machine = try Machine.build(
            configuration, console: Console(output: CapturedOutput(), inputFD: nil), kvmPath: KVMSystem.defaultPath,
            extraFlushes: [failing, check])
        machineBox.withLock { $0 = machine }
        let report = machine.run()
        machineBox.withLock { $0 = nil }  // the checker's closure and the machine hold each other
        let flushed = seen.withLock { $0 }
        #expect(flushed.count == 1)
        #expect(flushed.first?.loopsRunning == 0)
        #expect(flushed.first?.state == .stopping(.reset))
        #expect(report.flushFailures.map(\.description) == ["disk /tmp/full.img: flush failed: DiskFull()"])
        #expect(machine.lifecycle.current == .stopped(.reset))
    }

    @Test("--cpus beyond the host's KVM limit is bad input, refused before a VM exists")
    func beyondTheHostLimit() throws {
        let limit = try KVMSystem().maximumVCPUs
        let configuration = MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20, vcpuCount: limit + 1)
        #expect(throws: MachineError.self) {
            _ = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil))
        }
        do {
            _ = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil))
        } catch {
            #expect(error.exitStatus == ExitStatus.badInput)
            #expect(error.description.hasPrefix("--cpus \(limit + 1)"))
        }
    }
}
