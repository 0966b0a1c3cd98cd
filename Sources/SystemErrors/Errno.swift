#if canImport(Glibc)
import Glibc
#endif

/// An errno value (errno(3)), written the one way every message of SwiftVMM writes it:
/// the C library's text and the symbolic name, `Invalid argument (EINVAL)`.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    /// The error `rawValue` (EINVAL, ENOENT, ...).
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno: read it right after the call that failed, before
    /// anything else can overwrite it.
    public static var current: Errno { Errno(errno) }

    /// "Invalid argument (EINVAL)"; a number the table below does not name is given as
    /// "(errno N)".
    public var description: String {
        "\(String(cString: strerror(rawValue))) (\(Self.names[rawValue] ?? "errno \(rawValue)"))"
    }

    /// The symbolic name, "EINVAL", or "errno N" for a number the table does not name.
    public var name: String { Self.names[rawValue] ?? "errno \(rawValue)" }

    /// The symbolic names of the errno values a VMM meets (asm-generic/errno-base.h and
    /// errno.h); EWOULDBLOCK is EAGAIN on Linux.
    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO",
        E2BIG: "E2BIG", ENOEXEC: "ENOEXEC", EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
        EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV",
        ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE",
        EMFILE: "EMFILE", ENOTTY: "ENOTTY", ETXTBSY: "ETXTBSY", EFBIG: "EFBIG", ENOSPC: "ENOSPC",
        ESPIPE: "ESPIPE", EROFS: "EROFS", EPIPE: "EPIPE", ERANGE: "ERANGE", ENAMETOOLONG: "ENAMETOOLONG",
        ENOSYS: "ENOSYS", ELOOP: "ELOOP", EOPNOTSUPP: "EOPNOTSUPP", EDQUOT: "EDQUOT",
        // Unix sockets: the API's, and virtio-vsock's host side.
        EADDRINUSE: "EADDRINUSE", ECONNREFUSED: "ECONNREFUSED", ECONNRESET: "ECONNRESET",
        // Taps and network backends.
        EBADFD: "EBADFD", EADDRNOTAVAIL: "EADDRNOTAVAIL", ENETDOWN: "ENETDOWN",
    ]
}

/// A system call that failed: its name and the errno it set, as in
/// `pread failed: Input/output error (EIO)`.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call's name: "pread", "fdatasync", "KVM_IRQ_LINE".
    public let call: String
    public let errno: Errno

    /// `call` failed with `errno`.
    public init(_ call: String, _ errno: Errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(errno)" }
}
