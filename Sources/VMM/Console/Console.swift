import Devices
import Dispatch
import HostIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The host side of the serial console: the guest's bytes to an output file descriptor,
/// and input bytes from another (stdin) into the UART, with the Ctrl-A escape.
public final class Console: Sendable {
    /// Where the guest's serial output goes.
    public let output: any ByteSink
    /// Tells an output that may block (a stalled pipe) to give up once the machine stops.
    let stopWaiting: (@Sendable () -> Void)?
    /// Writes out what an output that gathers bytes (`ConsoleOutput`) still holds, once
    /// every vCPU has stopped.
    let finishWriting: (@Sendable () -> Void)?
    private let inputFD: Int32?
    private let queue = DispatchQueue(label: "swiftvmm.console-input")

    /// - Parameters:
    ///   - output: the guest's serial output.
    ///   - inputFD: where typed bytes come from (stdin), or nil for no input.
    ///   - stopWaiting: what makes a write to `output` blocked on a stalled reader give up,
    ///     called when the machine stops (`ConsoleOutput.stopWaiting`).
    ///   - finishWriting: what writes out the bytes `output` still holds, called once the
    ///     vCPUs have stopped (`ConsoleOutput.finishWriting`).
    public init(
        output: any ByteSink, inputFD: Int32?, stopWaiting: (@Sendable () -> Void)? = nil,
        finishWriting: (@Sendable () -> Void)? = nil
    ) {
        self.output = output
        self.stopWaiting = stopWaiting
        self.finishWriting = finishWriting
        self.inputFD = inputFD
    }

    /// Starts reading input into `uart`; `onCommand` receives Ctrl-A commands.
    /// The reader stops at end of input or once `isRunning` answers false.
    func startInput(
        into uart: DeviceSlot<Serial8250>,
        isRunning: @escaping @Sendable () -> Bool,
        onCommand: @escaping @Sendable (EscapeFilter.Command) -> Void
    ) {
        guard let fd = inputFD else { return }
        let output = self.output
        queue.async {
            var filter = EscapeFilter()
            while isRunning() {
                // End of input, or an error: the guest just gets no more.
                guard case .bytes(let typed) = HostIO.read(fd, upTo: Self.readSize) else { return }
                let (bytes, command) = filter.filter(typed)
                var pending = bytes[...]
                var wait = Self.retryMicroseconds.lowerBound
                while !pending.isEmpty && isRunning() {
                    let accepted = uart.withLock { $0.receive(Array(pending)) }
                    pending = pending.dropFirst(accepted)
                    // The guest has not drained its receive FIFO yet, or has not raised
                    // DTR: try again, sooner while it is taking bytes, later while not.
                    if accepted == 0 {
                        usleep(wait)
                        wait = min(wait * 2, Self.retryMicroseconds.upperBound)
                    } else {
                        wait = Self.retryMicroseconds.lowerBound
                    }
                }
                switch command {
                case .quit?: onCommand(.quit); return
                case .help?: output.write(Array(EscapeFilter.help.utf8))
                case nil: break
                }
            }
        }
    }

    /// How long the reader waits before offering refused input again: from 1 ms, doubling
    /// while the UART keeps refusing, up to 50 ms (a guest that never raises DTR costs
    /// 20 wake-ups a second).
    static let retryMicroseconds: ClosedRange<useconds_t> = 1000...50_000
    /// The most typed bytes taken from stdin at once.
    static let readSize = 256
}

/// Writes bytes to a file descriptor (stdout), promptly and unbuffered, so a console
/// line appears the moment the guest sends it. A closed or broken output is ignored:
/// the guest keeps running. Once the machine is stopping (`stopWaiting`), a write
/// blocked on a reader that does not read (a stalled pipe, a suspended terminal) and
/// interrupted by the vCPU's kick signal gives up, dropping the rest, rather than keep a
/// vCPU, and so the machine, from stopping.
public final class FileDescriptorSink: ByteSink {
    public let fd: Int32
    private let stopping = Atomic<Bool>(false)

    /// A sink writing to `fd`, stdout by default.
    public init(fd: Int32 = STDOUT_FILENO) { self.fd = fd }

    /// The machine is stopping: a write blocked on a full pipe or terminal gives up.
    public func stopWaiting() { stopping.store(true, ordering: .releasing) }

    /// Writes all of `bytes` with write(2), again after EINTR and short writes (unless
    /// the machine is stopping).
    public func write(_ bytes: [UInt8]) {
        HostIO.write(fd, bytes, giveUp: isStopping)
    }

    /// Writes one byte, as `write(_:)` does, without building an array.
    public func write(byte: UInt8) {
        HostIO.write(fd, byte: byte, giveUp: isStopping)
    }

    private func isStopping() -> Bool { stopping.load(ordering: .acquiring) }
}
