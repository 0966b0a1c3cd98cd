import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// An eventfd(2): a 64-bit counter in the kernel that one side adds to and the other
/// reads and resets. KVM signals one when the guest writes a registered address
/// (KVM_IOEVENTFD), and raises an interrupt when one is signalled (KVM_IRQFD), so a
/// device's I/O thread and the guest meet without a vCPU exit to user space.
public final class EventFD: Sendable {
    let fd: FileDescriptor

    /// A new eventfd, non-blocking (a read of a zero counter fails with EAGAIN rather
    /// than waiting) and closed on exec.
    public init() throws(KVMError) {
        let raw = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard raw >= 0 else { throw .eventFDFailed(errno: .current) }
        fd = FileDescriptor(raw)
    }

    /// The file descriptor, for a Dispatch read source to watch.
    public var rawValue: Int32 { fd.rawValue }

    /// Adds 1 to the counter, waking whoever waits on it. Fails only if the counter is
    /// full (2^64 - 2 signals nobody read) or the descriptor is gone.
    public func signal() throws(KVMError) {
        var one: UInt64 = 1
        while write(fd.rawValue, &one, MemoryLayout<UInt64>.size) < 0 {
            let error = Errno.current
            guard error.rawValue == EINTR else { throw .eventFDFailed(errno: error) }
        }
    }

    /// Reads and resets the counter: how many signals arrived since the last drain
    /// (0 if none).
    @discardableResult
    public func drain() -> UInt64 {
        var count: UInt64 = 0
        let result = read(fd.rawValue, &count, MemoryLayout<UInt64>.size)
        return result == MemoryLayout<UInt64>.size ? count : 0
    }
}
