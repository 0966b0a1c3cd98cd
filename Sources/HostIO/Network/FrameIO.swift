import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// Non-blocking reads and writes of whole frames on a descriptor (a tap's, a socket's),
/// into and out of the caller's arrays.
extension HostIO {
    /// What a non-blocking read or write did.
    public enum TransferResult: Sendable, Equatable {
        /// This many bytes moved.
        case done(Int)
        /// Nothing to read, or no room to write, now (EAGAIN).
        case wouldBlock
        /// The other side closed (a read of 0 bytes on a socket).
        case closed
        /// The call failed with this errno (EINTR is retried, never reported).
        case failed(Errno)
    }

    /// read(2) into `buffer[offset...]`: one frame from a tap, or what a socket has.
    public static func read(_ fd: Int32, into buffer: inout [UInt8], at offset: Int) -> TransferResult {
        precondition(offset >= 0 && offset <= buffer.count)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count > 0 { return .done(count) }
            if count == 0 { return offset == buffer.count ? .done(0) : .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case let error: return .failed(Errno(error))
            }
        }
    }

    /// write(2) of `bytes` (MSG_NOSIGNAL for sockets: a closed peer is an error, not a
    /// SIGPIPE); returns how many were written, which for a tap is all or nothing.
    public static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>, socket: Bool = false) -> TransferResult {
        while true {
            let count = bytes.withUnsafeBytes { raw in
                socket ? Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) : Glibc.write(fd, raw.baseAddress, raw.count)
            }
            if count >= 0 { return .done(count) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case let error: return .failed(Errno(error))
            }
        }
    }

    /// getrandom(2): `count` bytes from the kernel's random number generator, the
    /// source /dev/urandom reads (never blocking once the kernel's pool is initialized
    /// at boot). Fewer only if the call failed.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { ckvm_getrandom($0.baseAddress! + filled, UInt(count - filled), 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            filled += Int(got)
        }
        return Array(bytes[..<filled])
    }
}
