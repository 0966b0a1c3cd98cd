import HostIO
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Where trace lines go: a file descriptor (stderr, or a `--trace-file`), written in
/// blocks of `blockSize` bytes rather than a system call per line, so that tracing slows
/// the guest as little as it can. Whatever is buffered is written by `flush()`, which
/// the machine calls when it stops and the command line calls before the process exits.
///
/// Lines from several threads (the vCPUs, a disk's I/O thread) go through one lock, so
/// each line arrives whole and in the order the threads got the lock.
public final class TraceWriter: Sendable {
    /// How much is buffered before a write(2): large enough that a busy trace costs one
    /// system call per few hundred lines.
    static let blockSize = 64 << 10

    private let fd: Int32
    private let ownsFileDescriptor: Bool
    private let buffer = Locked<[UInt8]>([])

    /// A writer to `fd`, which the writer closes when it goes if `closesFileDescriptor`
    /// (a `--trace-file`), and leaves open otherwise (stderr).
    public init(fd: Int32, closesFileDescriptor: Bool = false) {
        self.fd = fd
        self.ownsFileDescriptor = closesFileDescriptor
    }

    deinit {
        flush()
        if ownsFileDescriptor { close(fd) }
    }

    /// Appends `bytes` (whole lines); writes the buffer out once it holds a block.
    func append(_ bytes: [UInt8]) {
        buffer.withLock { buffer in
            buffer.append(contentsOf: bytes)
            if buffer.count >= Self.blockSize { writeOut(&buffer) }
        }
    }

    /// Writes out everything buffered.
    public func flush() {
        buffer.withLock { writeOut(&$0) }
    }

    private func writeOut(_ buffer: inout [UInt8]) {
        guard !buffer.isEmpty else { return }
        // A trace that cannot be written (a full disk, a closed pipe) is dropped: the
        // guest keeps running.
        HostIO.write(fd, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
