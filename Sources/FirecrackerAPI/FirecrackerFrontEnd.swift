import Dispatch
import HostIO
import JSON
import Locking
import VMM
#if canImport(Glibc)
import Glibc
#endif

/// `swiftvmm firecracker ...`: SwiftVMM behind Firecracker's command line and API. It
/// configures a machine from `--config-file` and the API socket, builds it on
/// InstanceStart with the same `Machine.build` as `swiftvmm run`, runs it with the
/// console on stdin and stdout, and ends when the machine stops.
public enum FirecrackerFrontEnd {
    /// How the front end ended.
    public enum Outcome: Sendable {
        /// The machine ran and stopped: the caller reports it as `swiftvmm run` does.
        case machineStopped(MachineReport)
        /// No machine ran: the front end's own exit status, its message already printed.
        case status(Int32)
    }

    /// The text of `swiftvmm firecracker --help`.
    public static let usage = """
        swiftvmm firecracker: SwiftVMM driven through Firecracker's API

        USAGE
          swiftvmm firecracker [--api-sock PATH] [--config-file FILE] [--no-api] [--id ID]
                               [--level LEVEL] [--log-path PATH] [--metrics-path PATH]
                               [--boot-timer]
          firecracker ...        the same, when swiftvmm is started through a link so named

          --api-sock PATH     serve Firecracker's REST API on this Unix socket, created mode
                              0600 (default \(FrontEndOptions.defaultSocketPath)); it must not exist
          --config-file FILE  a Firecracker configuration document (the body of
                              GET /vm/config): configure the machine from it and start it
          --no-api            serve no API (needs --config-file)
          --id ID             the instance ID GET / reports (default \(FrontEndOptions.defaultInstanceID))
          --level LEVEL       log level: Off, Error, Warning, Info, Debug, Trace
          --log-path PATH     append log lines to this file or named pipe
          --metrics-path PATH FlushMetrics writes a JSON line here
          --boot-timer        log the time to the guest's write of 123 to Firecracker's boot
                              timer (a byte at 0xd0000000, through /dev/mem)

        The API: GET /, GET /version, GET|PUT|PATCH /machine-config, PUT /boot-source,
        PUT /drives/ID, PUT /network-interfaces/ID (a tap), PUT /entropy, PUT /vsock,
        PUT /logger, PUT /metrics, GET /vm/config, PUT /actions (InstanceStart,
        SendCtrlAltDel, FlushMetrics), PATCH /vm (Paused, Resumed). Whatever SwiftVMM
        does not support is answered 400 with a fault_message saying so.
        """

    /// Runs the front end with `arguments` (those after `firecracker`). `origin` is when
    /// the process started; `printError` writes one message line for the user.
    public static func main(
        _ arguments: [String], origin: UInt64, kvmPath: String, printError: @escaping @Sendable (String) -> Void
    ) -> Outcome {
        let options: FrontEndOptions
        do {
            options = try FrontEndOptions.parse(arguments)
        } catch {
            printError("firecracker: \(error)")
            return .status(ExitStatus.badInput)
        }
        if options.help { print(usage); return .status(ExitStatus.success) }
        if options.version { print("Firecracker API \(APIRoute.apiVersion), served by SwiftVMM"); return .status(ExitStatus.success) }
        return run(options, origin: origin, kvmPath: kvmPath, printError: printError)
    }

    private static func run(
        _ options: FrontEndOptions, origin: UInt64, kvmPath: String, printError: @escaping @Sendable (String) -> Void
    ) -> Outcome {
        signal(SIGPIPE, SIG_IGN)
        let log = APILog(instanceID: options.instanceID)
        let finished = DispatchSemaphore(value: 0)
        let machineQueue = DispatchQueue(label: "swiftvmm.machine")
        let report = Locked<MachineReport?>(nil)
        // The console as `swiftvmm run` has it: written a line at a time.
        let stdout = ConsoleOutput(fd: STDOUT_FILENO)
        let console = Console(
            output: stdout, inputFD: STDIN_FILENO, stopWaiting: stdout.stopWaiting, finishWriting: stdout.finishWriting)
        let controller = VMController(instanceID: options.instanceID, log: log, origin: origin) { configuration throws(APIError) in
            let machine: Machine
            do {
                machine = try Machine.build(
                    configuration, console: console,
                    instrumentation: Instrumentation(origin: origin, bootTimer: options.bootTimer ? log.bootTime : nil),
                    kvmPath: kvmPath)
            } catch {
                throw APIError("Cannot start microvm: \(error)")
            }
            machineQueue.async {
                let ended = machine.run()
                report.withLock { $0 = ended }
                finished.signal()
            }
            return machine
        }

        // Logger and metrics from the command line, then the configuration file:
        // all checked before anything is served or run.
        do {
            try log.configure(level: options.level, path: options.logPath)
            if let path = options.metricsPath { try log.configureMetrics(path) }
            if let file = options.configFile {
                guard let document = HostIO.contents(of: file) else {
                    printError("firecracker: --config-file \(file): cannot be read")
                    return .status(ExitStatus.badInput)
                }
                try controller.configure(document: document)
            }
        } catch {
            printError("firecracker: \(options.configFile.map { "--config-file \($0): " } ?? "")\(error.message)")
            return .status(ExitStatus.badInput)
        }

        var server: APIServer?
        if options.serveAPI {
            do {
                let listener = try UnixSocket.listen(at: options.apiSocket)
                var limits = APIServer.Limits()
                if let size = options.maximumPayload { limits.request.bodyBytes = size }
                server = APIServer(listener: listener, limits: limits) { controller.handle($0) }
                server?.start()
            } catch {
                printError("firecracker: --api-sock \(options.apiSocket): cannot serve the API: \(error)")
                return .status(ExitStatus.badInput)
            }
        }
        defer { if options.serveAPI { unlink(options.apiSocket) } }

        // SIGINT and SIGTERM: stop the machine cleanly, or end at once before it runs.
        let signalQueue = DispatchQueue(label: "swiftvmm.signals")
        let interrupted = Locked<Int32?>(nil)
        let cancelled = DispatchGroup()
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler {
                if let machine = controller.machine {
                    machine.stop(.signal(number))
                } else {
                    interrupted.withLock { $0 = number }
                    finished.signal()
                }
            }
            cancelled.enter()
            source.setCancelHandler { cancelled.leave() }
            source.resume()
            return source
        }
        // At the end, this thread lets go of the machine last, so it closes here, in
        // order: not on a worker thread while the process exits (which deadlocked
        // LeakSanitizer, as `Machine.run` explains). The signal handlers, the machine's
        // thread and every API connection let go of it first.
        var heldMachine: Machine?
        defer {
            sources.forEach { $0.cancel() }
            cancelled.wait()
            server?.stop()
            server?.wait()
            machineQueue.sync {}
            withExtendedLifetime(heldMachine) {}
        }

        if options.configFile != nil {
            do {
                try controller.startInstance()
            } catch {
                printError("firecracker: --config-file \(options.configFile!): \(error.message)")
                return .status(ExitStatus.badInput)
            }
        }
        let rawTerminal = TerminalMode.enterRaw()
        finished.wait()
        if rawTerminal { TerminalMode.restore() }
        // This thread holds the machine last (see the defer above): it closes there.
        heldMachine = controller.detachMachine()
        if let number = interrupted.withLock({ $0 }) { return .status(128 + number) }
        guard let ended = report.withLock({ $0 }) else { return .status(ExitStatus.hostError) }
        return .machineStopped(ended)
    }
}
