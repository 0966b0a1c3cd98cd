import Dispatch
import FirecrackerAPI
import KVM
import VMM
#if canImport(Glibc)
import Glibc
#endif

/// The `swiftvmm` program: parses arguments, runs the command, returns the exit status.
public enum SwiftVMMCommand {
    /// Runs `swiftvmm` with `arguments` (without the program name); returns the exit
    /// status (`ExitStatus`, and the guest's own through isa-debug-exit).
    public static func main(_ arguments: [String]) -> Int32 {
        StandardStreams.ensureOpen()
        // Time 0 of traces and of the boot timeline.
        let origin = MonotonicClock.now()
        let command: Command
        do {
            command = try Arguments.parse(arguments)
        } catch {
            printError("\(error)")
            return ExitStatus.badInput
        }
        switch command {
        case .help:
            print(HelpText.usage)
            return ExitStatus.success
        case .version:
            print(HelpText.version)
            return ExitStatus.success
        case .host(let cpuidVCPUs):
            return withKVMDevice { HostReport.run(kvmPath: $0, cpuidVCPUs: cpuidVCPUs) { print($0) } }
        case .run(var configuration, let options):
            if let tun = getenv(tunDeviceVariable).map({ String(cString: $0) }), !tun.isEmpty {
                configuration.tunControlPath = tun
            }
            return withKVMDevice { run(configuration, options: options, origin: origin, kvmPath: $0) }
        case .firecracker(let arguments):
            return withKVMDevice { kvmPath in
                switch FirecrackerFrontEnd.main(arguments, origin: origin, kvmPath: kvmPath, printError: { printError($0) }) {
                case .status(let status): return status
                case .machineStopped(let report): return finish(report)
                }
            }
        }
    }

    /// Names the tun/tap control device to open instead of /dev/net/tun, as
    /// SWIFTVMM_KVM_DEVICE does for /dev/kvm: to see what SwiftVMM says without one.
    static let tunDeviceVariable = "SWIFTVMM_TUN_DEVICE"

    /// The status and messages of a machine the Firecracker front end ran, as `run` gives them.
    static func finish(_ report: MachineReport) -> Int32 {
        if let message = StopMessage.describe(report.reason) { printError(message) }
        for failure in report.flushFailures { printError("\(failure)") }
        return report.reason.exitStatus
    }

    /// The program's name as it was started: started through a link named `firecracker`,
    /// swiftvmm is Firecracker's front end, and every argument is that front end's.
    public static func arguments(programName: String, _ arguments: [String]) -> [String] {
        let name = programName.split(separator: "/").last.map(String.init) ?? programName
        return name == "firecracker" ? ["firecracker"] + arguments : arguments
    }

    /// Runs `body` with the KVM device's path, or says what is wrong with the one the
    /// environment names.
    private static func withKVMDevice(_ body: (String) -> Int32) -> Int32 {
        let path: String
        do {
            path = try KVMDevice.path()
        } catch {
            printError("\(error)")
            return ExitStatus.badInput
        }
        return body(path)
    }

    /// `swiftvmm run`: build the machine, wire the console and signals, run, report.
    static func run(_ configuration: MachineConfiguration, options: RunOptions, origin: UInt64, kvmPath: String) -> Int32 {
        // A closed stdout must not kill the VMM; writes to it just fail.
        signal(SIGPIPE, SIG_IGN)
        let stdout = ConsoleOutput(fd: STDOUT_FILENO)
        let console = Console(
            output: stdout, inputFD: STDIN_FILENO, stopWaiting: stdout.stopWaiting, finishWriting: stdout.finishWriting)
        let machine: Machine
        let traceWriter: TraceWriter?
        var statsJSON: Int32? = nil
        do {
            // The output files first: a path that cannot be written is bad input, found
            // before anything runs.
            if let path = options.traceFile {
                traceWriter = TraceWriter(fd: try OutputFile.open(path, for: .traceFile), closesFileDescriptor: true)
            } else {
                traceWriter = options.trace.isEmpty ? nil : TraceWriter(fd: STDERR_FILENO)
            }
            if let path = options.statsJSONPath { statsJSON = try OutputFile.open(path, for: .statsJSON) }
            let instrumentation = Instrumentation(
                origin: origin, trace: options.trace, traceWriter: traceWriter,
                collectsStatistics: options.collectsStatistics, readyMarker: options.readyMarker,
                expectedOutput: options.expect, timeout: options.timeout)
            machine = try Machine.build(
                configuration, console: console, instrumentation: instrumentation, kvmPath: kvmPath,
                warnings: FileDescriptorSink(fd: STDERR_FILENO))
        } catch {
            printError("\(error)")
            return error.exitStatus
        }

        // SIGINT and SIGTERM stop the guest cleanly: every vCPU leaves KVM_RUN first.
        let signalQueue = DispatchQueue(label: "swiftvmm.signals")
        let cancelled = DispatchGroup()
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { machine.stop(.signal(number)) }
            cancelled.enter()
            source.setCancelHandler { cancelled.leave() }
            source.resume()
            return source
        }
        TerminalMode.enterRaw()
        let report = machine.run()
        TerminalMode.restore()
        // The handlers hold the machine; libdispatch lets go of them on its queue before
        // running the cancel handler. Waiting for that leaves this thread the machine's
        // last holder, so the VM is closed here, in order, not on a worker during exit.
        sources.forEach { $0.cancel() }
        cancelled.wait()

        traceWriter?.flush()

        if let message = StopMessage.describe(report.reason) { printError(message) }
        for failure in report.flushFailures { printError("\(failure)") }
        if report.unknownPortAccesses > 0, let port = report.firstUnknownPort {
            printError("note: \(report.unknownPortAccesses) I/O port accesses reached no device "
                + "(first: port 0x\(String(port, radix: 16))); they read as all ones")
        }
        let status = BootCheck.status(of: report, expecting: options.expect)
        if let message = BootCheck.failure(of: report, expecting: options.expect, timeout: options.timeout) { printError(message) }
        if let statistics = report.statistics {
            if options.stats { FileDescriptorSink(fd: STDERR_FILENO).write(Array(StatisticsReport.table(statistics).utf8)) }
            if let statsJSON { OutputFile.write(StatisticsReport.json(statistics, reason: report.reason, status: status), to: statsJSON) }
        }
        return status
    }

    static func printError(_ message: String) {
        let line = "swiftvmm: \(message)\n"
        FileDescriptorSink(fd: STDERR_FILENO).write(Array(line.utf8))
    }
}
