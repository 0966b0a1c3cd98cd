import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// The system calls the machine makes on host files (reading a kernel image, /proc, the
/// console's stdin and stdout), with the buffers they need: the layers above work with
/// arrays of bytes and hold no pointers.
public enum HostIO {
    /// What a read of a file descriptor found.
    public enum ReadResult: Sendable, Equatable {
        case bytes([UInt8])
        case endOfFile
        /// The read failed with this errno (EINTR is retried, never reported).
        case failed(Errno)
    }

    /// read(2): up to `count` bytes from `fd`'s current position, retrying after EINTR.
    public static func read(_ fd: Int32, upTo count: Int) -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let result = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if result > 0 { return .bytes(Array(buffer[0..<result])) }
            if result == 0 { return .endOfFile }
            let error = Errno.current
            if error.rawValue != EINTR { return .failed(error) }
        }
    }

    /// Why `readAll(_:size:)` could not return `size` bytes.
    public enum ReadAllError: Error, Equatable, Sendable {
        /// The file ended at this byte, before `size`.
        case endedAt(Int)
        /// pread(2) failed with this errno.
        case failed(Errno)
    }

    /// pread(2) of bytes 0 to `size` of `fd`, whole, retrying after EINTR and short reads.
    public static func readAll(_ fd: Int32, size: Int) throws(ReadAllError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset))
            }
            if count == 0 { throw .endedAt(offset) }
            if count < 0 {
                let error = Errno.current
                if error.rawValue == EINTR { continue }
                throw .failed(error)
            }
            offset += count
        }
        return bytes
    }

    /// The whole of `path` read to its end (a /proc file, whose size says nothing), or nil.
    public static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var contents: [UInt8] = []
        while true {
            switch read(fd, upTo: 1 << 16) {
            case .bytes(let bytes): contents += bytes
            case .endOfFile: return contents
            case .failed: return nil
            }
        }
    }

    /// write(2) of all of `bytes`, again after EINTR and short writes, unless `giveUp`
    /// says so after one (a stopping machine's console, say). Returns false when it wrote
    /// less than all: an error (a closed pipe), or giving up.
    @discardableResult
    public static func write(_ fd: Int32, _ bytes: [UInt8], giveUp: () -> Bool = { false }) -> Bool {
        bytes.withUnsafeBytes { write(fd, $0, giveUp: giveUp) }
    }

    /// `write(_:_:giveUp:)` of one byte, without an array.
    @discardableResult
    public static func write(_ fd: Int32, byte: UInt8, giveUp: () -> Bool = { false }) -> Bool {
        withUnsafeBytes(of: byte) { write(fd, $0, giveUp: giveUp) }
    }

    private static func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer, giveUp: () -> Bool) -> Bool {
        var offset = 0
        while offset < raw.count {
            let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 && errno == EINTR {
                if giveUp() { return false }
                continue
            }
            guard written > 0 else { return false }
            offset += written
            if offset < raw.count && giveUp() { return false }
        }
        return true
    }

    /// Whether `fd` takes a write now, or within `milliseconds` (poll(2) for POLLOUT). For
    /// a pipe, it means room for at least PIPE_BUF bytes, which a write of that many
    /// then never waits for.
    public static func isWritable(_ fd: Int32, within milliseconds: Int32 = 0) -> Bool {
        var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&request, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready == 1 && request.revents & Int16(POLLOUT) != 0
        }
    }

    /// BLKGETSIZE64: the size in bytes of the block device open at `fd`.
    public static func blockDeviceSize(_ fd: Int32) throws(SystemCallError) -> UInt64 {
        var size: UInt64 = 0
        let result = withUnsafeMutablePointer(to: &size) { ckvm_ioctl_pointer(fd, CKVM_BLKGETSIZE64, $0) }
        guard result == 0 else { throw SystemCallError("BLKGETSIZE64", .current) }
        return size
    }
}
