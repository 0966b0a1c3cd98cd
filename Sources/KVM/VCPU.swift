import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// A virtual CPU: its file descriptor and its shared `kvm_run` area (api.rst 4.7, 5).
///
/// A vCPU's ioctls must be issued from one thread at a time; `KVM_RUN` blocks while the
/// guest runs. Only `requestImmediateExit(_:)` may be called from other threads.
public final class VCPU: @unchecked Sendable {
    // @unchecked: `area` points into memory shared with the kernel; only the vCPU's own
    // thread touches it, except immediate_exit, which is stored atomically.

    /// The vCPU index, also its initial APIC ID.
    public let id: Int
    let fd: FileDescriptor
    private let area: KVMRunArea

    init(id: Int, fd: FileDescriptor, mmapSize: Int) throws(KVMError) {
        guard let mapping = mmap(nil, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0),
              mapping != MAP_FAILED
        else { throw .mmapFailed(what: "kvm_run of vCPU \(id)", errno: .current) }
        self.id = id
        self.fd = fd
        self.area = KVMRunArea(pointer: mapping.bindMemory(to: kvm_run.self, capacity: 1), size: mmapSize)
    }

    deinit { munmap(area.pointer, area.size) }

    // MARK: Running

    /// KVM_RUN: runs the guest until it exits to user space, and decodes why.
    public func run() throws(KVMError) -> VCPUExit {
        if ckvm_ioctl_none(fd.rawValue, IoctlRequest.run.number) < 0 {
            let error = errno
            // EINTR is an exit reason, not an error: a signal or immediate_exit stopped us.
            if error == EINTR || error == EAGAIN { return .interrupted }
            throw .ioctlFailed(name: IoctlRequest.run.name, errno: Errno(error))
        }
        return area.decodeExit()
    }

    /// Sets or clears `kvm_run.immediate_exit`: while set, KVM_RUN returns EINTR at once.
    /// Safe from any thread; pair it with a signal to kick a vCPU already in the guest.
    public func requestImmediateExit(_ on: Bool) {
        area.setImmediateExit(on)
    }

    // MARK: Exit data

    /// For an OUT exit, the value of item `item` (0 for a single OUT).
    public func portIOValue(item: Int = 0) -> UInt64 { area.portIOValue(item: item) }

    /// For an IN exit, stores the value the guest will read for item `item`.
    public func setPortIOValue(_ value: UInt64, item: Int = 0) { area.setPortIOValue(value, item: item) }

    /// For an MMIO exit, the data (`kvm_run.mmio.data`, little-endian): what a write
    /// stored, or for a read, the answer `setMMIOValue(_:)` gave.
    public func mmioValue() -> UInt64 { area.mmioValue() }

    /// For an MMIO read exit, stores the value the guest will read.
    public func setMMIOValue(_ value: UInt64) { area.setMMIOValue(value) }
}
