import CKVM
import Dispatch
import HostIO
import Testing
@testable import VMM
#if canImport(Glibc)
import Glibc
#endif

/// Boots the test guest (guest-images/testguest) on /dev/kvm.
@Suite("Booting the test guest on KVM", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct MachineTests {
    @Test("the ELF test guest greets over the UART and resets through the i8042: status 0")
    func greetsAndResets() throws {
        let (output, report) = try boot(commandLine: "console=ttyS0 hello=world")
        #expect(output.contains("Hello from the SwiftVMM demo guest!"))
        #expect(output.contains("command line: \"console=ttyS0 hello=world\""))
        #expect(report.reason == .reset)
        #expect(report.reason.exitStatus == 0)
        #expect(report.unknownPortAccesses == 0)
    }

    @Test("the demo guest is the test guest's ELF image, byte for byte, and boots without a --kernel")
    func demoGuest() throws {
        let file = try #require(HostIO.contents(of: Repository.testGuestELF))
        #expect(DemoGuest.image == file)
        let output = CapturedOutput()
        let machine = try Machine.build(
            MachineConfiguration(kernel: .demo, commandLine: "testguest.quiet", memorySize: 64 << 20),
            console: Console(output: output, inputFD: nil))
        #expect(machine.run().reason == .reset)
        #expect(output.text.contains("Hello from the SwiftVMM demo guest!"))
    }

    @Test("the guest sees the e820 map of its RAM: 64 MiB gives RAM up to 0x3ffffff")
    func e820() throws {
        let (output, _) = try boot(memory: 64 << 20)
        #expect(output.contains("0x0000000000000000-0x000000000009fbff  RAM"))
        #expect(output.contains("0x0000000000100000-0x0000000003ffffff  RAM"))
        #expect(output.contains("0x000000000009fc00-0x00000000000fffff  reserved"))
    }

    @Test("the bzImage-format test guest boots through its setup header and 64-bit entry")
    func bzImage() throws {
        let (output, report) = try boot(Repository.testGuestImage, commandLine: "testguest.quiet")
        #expect(output.contains("Hello from the SwiftVMM demo guest!"))
        #expect(report.reason == .reset)
    }

    @Test("a write of v to the debug-exit port ends the run with status (v << 1) | 1")
    func debugExit() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.exit=21")
        #expect(report.reason == .debugExit(value: 21))
        #expect(report.reason.exitStatus == 43)
        #expect(output.contains("exiting through port 0xf4 with value 21"))
    }

    @Test("a triple fault stops the machine as a guest crash, with the vCPU's RIP")
    func tripleFault() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.triplefault")
        #expect(output.contains("triple fault: now"))
        guard case .tripleFault(let vcpu, let rip) = report.reason else {
            Issue.record("expected a triple fault, got \(report.reason)")
            return
        }
        #expect(vcpu == 0)
        #expect(rip != nil)
        #expect(report.reason.exitStatus == ExitStatus.guestCrashed)
    }

    @Test("an instruction KVM cannot run stops the machine with its RIP and bytes (a triple fault with VT-x/AMD-V)")
    func emulationFailure() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.int3")
        #expect(output.contains("int3: now"))
        #expect(report.reason.exitStatus == ExitStatus.guestCrashed)
        switch report.reason {
        case .internalError(let vcpu, let rip, let error):
            // KVM's instruction emulator, on a host without hardware virtualization.
            #expect(!HostVirtualization.detect().isHardwareAssisted)
            #expect(vcpu == 0)
            #expect(rip != nil)
            #expect(error.isEmulationFailure)
            #expect(error.instructionBytes.first == 0xcc)
        case .tripleFault(let vcpu, let rip):
            // Hardware delivers the breakpoint, and the empty IDT makes it a triple fault.
            #expect(HostVirtualization.detect().isHardwareAssisted)
            #expect(vcpu == 0 && rip != nil)
        default:
            Issue.record("expected an emulation failure or a triple fault, got \(report.reason)")
        }
    }

    @Test("the 8259A PICs are initialized as firmware leaves them: vectors 0x20 and 0x28, every line masked")
    func picsMasked() throws {
        let machine = try Machine.build(
            MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20),
            console: Console(output: CapturedOutput(), inputFD: nil))
        let master = try machine.vm.getIRQChip(UInt32(KVM_IRQCHIP_PIC_MASTER)).chip.pic
        let slave = try machine.vm.getIRQChip(UInt32(KVM_IRQCHIP_PIC_SLAVE)).chip.pic
        #expect(master.irq_base == 0x20 && slave.irq_base == 0x28)
        #expect(master.imr == 0xff && slave.imr == 0xff)
        #expect(master.init_state == 0 && slave.init_state == 0)
        // What the guest reads back from OCW1 (the mask register) at ports 0x21 and 0xa1.
        for port in ["0x21", "0xa1"] {
            let (output, report) = try boot(commandLine: "testguest.quiet testguest.port=\(port)")
            #expect(output.contains("read 0xff"), "port \(port): \(output)")
            #expect(report.unknownPortAccesses == 0)  // the PICs are KVM's, not user space's
        }
    }

    @Test("an unknown port reads as all ones, is counted, and the guest runs on")
    func unknownPort() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.port=0x510")
        #expect(output.contains("port 0x0510 read 0xff") || output.contains("port 0x510 read 0xff"))
        #expect(report.unknownPortAccesses == 2)
        #expect(report.firstUnknownPort == 0x510)
        #expect(report.reason == .reset)
    }

    @Test("exactly N port writes reach the POST port: the guest's outs=N runs to completion")
    func outs() throws {
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.outs=1000")
        #expect(output.contains("outs: 1000 done"))
        #expect(report.reason == .reset)
    }

    @Test("the guest reads the console: bytes written to the input reach it through the UART")
    func consoleInput() throws {
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        let message = Array("hi!".utf8)
        // Written before the machine even starts: the UART accepts host input only once
        // the guest raises DTR, after its set-up has reset the FIFO, so nothing is lost.
        #expect(write(pipeFDs[1], message, message.count) == message.count)
        defer { close(pipeFDs[1]); close(pipeFDs[0]) }  // the writer first: EOF wakes the reader
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.echo=3", inputFD: pipeFDs[0])
        #expect(output.contains("echo: got \"hi!\""))
        #expect(report.reason == .reset)
    }

    @Test("stop() from another thread ends a running guest promptly")
    func stopFromAnotherThread() throws {
        // Ten million port writes would take minutes; the stop must cut it short.
        let (_, report) = try boot(commandLine: "testguest.quiet testguest.outs=10000000") { machine in
            usleep(300_000)
            machine.stop(.signal(SIGTERM))
        }
        #expect(report.reason == .signal(SIGTERM))
        #expect(report.reason.exitStatus == 143)
    }

    @Test("with two vCPUs, the one still waiting for its start-up IPI is stopped too")
    func stopsWaitingApplicationProcessor() throws {
        // testguest.nosmp: the guest sends no INIT or SIPI, so vCPU 1 never leaves KVM_RUN's wait.
        let (output, report) = try boot(commandLine: "testguest.quiet testguest.nosmp", vcpus: 2)
        #expect(output.contains("Hello from the SwiftVMM demo guest!"))
        #expect(output.contains("not starting the other CPUs"))
        #expect(report.reason == .reset)
    }
}
