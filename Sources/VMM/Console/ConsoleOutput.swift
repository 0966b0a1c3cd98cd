import Devices
import Dispatch
import HostIO
import Locking
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The guest's console output on its way to a file descriptor (stdout), a line at a time.
///
/// A guest sends its console one byte per exit, and a write(2) per byte costs more than
/// the exit itself wherever a write is dear: to a pipe, every byte wakes the reader. (In
/// the nested test bed, a Linux boot spent 8 of its 22 seconds in those writes: 206 us a
/// byte. docs/PERFORMANCE.md, "Linux to user space, beside QEMU".) So bytes gather here
/// and go out together:
/// - the first byte after the output was quiet for `quietNanoseconds`, at once, on the
///   vCPU's thread: the start of a boot's output, a prompt or an echoed key is not held
///   back, and a burst costs that one write more;
/// - at a newline, or once `lineLimit` bytes wait, on the vCPU's thread, which waits for
///   the output as an unbuffered console would (and, when the machine stops, gives up:
///   the kick signal interrupts the write);
/// - an unfinished line (a shell prompt, typed characters echoed back) after
///   `partialLineDelay`, from a queue of its own, which never waits: it writes only when
///   poll(2) says the output takes the bytes now, and otherwise tries again later;
/// - whatever is left when the machine stops (`finishWriting`; the machine calls it
///   through `Console.finishWriting`).
/// Bytes leave in the order they came: whoever writes takes every waiting byte, one
/// writer at a time.
public final class ConsoleOutput: ByteSink {
    public let fd: Int32
    /// Bytes not written yet, whether the partial-line flush is scheduled, and when
    /// bytes were last taken to be written (MonotonicClock nanoseconds).
    private let waiting = Locked<(bytes: [UInt8], flushScheduled: Bool, lastWrite: UInt64)>(([], false, 0))
    /// Held while writing, so that writes keep the bytes' order.
    private let writing = Locked<Void>(())
    private let stopping = Atomic<Bool>(false)
    private let queue = DispatchQueue(label: "swiftvmm.console-output")

    /// The most bytes that wait for a newline: a pipe's PIPE_BUF, which the partial-line
    /// flush can write without waiting once poll(2) says the pipe takes a write.
    static let lineLimit = 4096
    /// How long an unfinished line waits for more bytes: short enough that a prompt or
    /// an echoed key appears at once to a person.
    static let partialLineDelay = DispatchTimeInterval.milliseconds(2)
    /// How long the output must have been quiet for a byte to go out on its own at once:
    /// longer than the gaps inside a burst of output, shorter than a person's.
    static let quietNanoseconds: UInt64 = 50_000_000
    /// How long `finishWriting` waits for the output to take what is left.
    static let finishMilliseconds: Int32 = 200
    static let newline = UInt8(ascii: "\n")

    /// A console writing to `fd`, stdout by default.
    public init(fd: Int32 = STDOUT_FILENO) { self.fd = fd }

    /// The machine is stopping: a write blocked on a full pipe or terminal gives up.
    public func stopWaiting() { stopping.store(true, ordering: .releasing) }

    /// Takes one byte, written out with its line.
    public func write(byte: UInt8) {
        take { $0.append(byte) }
    }

    /// Takes `bytes`, written out with their line.
    public func write(_ bytes: [UInt8]) {
        take { $0.append(contentsOf: bytes) }
    }

    /// Writes whatever is left, if the output takes it within `finishMilliseconds`: the
    /// machine has stopped, and no more bytes come.
    public func finishWriting() {
        let deadline = Self.finishMilliseconds
        for _ in 0..<deadline {
            let done = writing.withLockIfAvailable { _ -> Bool in
                if HostIO.isWritable(fd, within: deadline) { writeWaiting() }
                return true
            }
            if done == true { return }
            usleep(1000)  // the partial-line flush is writing: it never waits long
        }
    }

    private func take(_ add: (inout [UInt8]) -> Void) {
        let action = waiting.withLock { state -> Action in
            let quiet = state.bytes.isEmpty && !state.flushScheduled
                && MonotonicClock.now() &- state.lastWrite >= Self.quietNanoseconds
            add(&state.bytes)
            if quiet || state.bytes.last == Self.newline || state.bytes.count >= Self.lineLimit { return .write }
            if state.flushScheduled { return .none }
            state.flushScheduled = true
            return .schedule
        }
        switch action {
        case .write: writing.withLock { _ in writeWaiting() }
        case .schedule: schedulePartialLineFlush()
        case .none: break
        }
    }

    private enum Action { case none, write, schedule }

    private func schedulePartialLineFlush() {
        queue.asyncAfter(deadline: .now() + Self.partialLineDelay) { [weak self] in self?.flushPartialLine() }
    }

    /// Writes an unfinished line if the output takes it now; never waits.
    private func flushPartialLine() {
        waiting.withLock { $0.flushScheduled = false }
        let written = writing.withLockIfAvailable { _ -> Bool in
            guard HostIO.isWritable(fd) else { return false }
            writeWaiting()
            return true
        }
        guard written != true else { return }
        // Someone else is writing, or the output is full: later.
        let reschedule = waiting.withLock { state -> Bool in
            guard !state.bytes.isEmpty, !state.flushScheduled else { return false }
            state.flushScheduled = true
            return true
        }
        if reschedule { schedulePartialLineFlush() }
    }

    /// Writes every waiting byte. Called with `writing` held.
    private func writeWaiting() {
        let bytes = waiting.withLock { state -> [UInt8] in
            let taken = state.bytes
            if !taken.isEmpty { state.lastWrite = MonotonicClock.now() }
            state.bytes = []
            state.bytes.reserveCapacity(Self.lineLimit)
            return taken
        }
        if !bytes.isEmpty { HostIO.write(fd, bytes, giveUp: isStopping) }
    }

    private func isStopping() -> Bool { stopping.load(ordering: .acquiring) }
}
