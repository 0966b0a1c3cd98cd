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
    // @unchecked: `shared` points into memory shared with the kernel; only the vCPU's own
    // thread touches it, except immediate_exit, which is stored atomically.

    /// The vCPU index, also its initial APIC ID.
    public let id: Int
    let fd: FileDescriptor
    private let shared: UnsafeMutablePointer<kvm_run>
    private let mmapSize: Int

    init(id: Int, fd: FileDescriptor, mmapSize: Int) throws(KVMError) {
        guard let mapping = mmap(nil, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0),
              mapping != MAP_FAILED
        else { throw .mmapFailed(what: "kvm_run of vCPU \(id)", errno: .current) }
        self.id = id
        self.fd = fd
        self.mmapSize = mmapSize
        self.shared = mapping.bindMemory(to: kvm_run.self, capacity: 1)
    }

    deinit { munmap(shared, mmapSize) }

    // MARK: Running

    /// KVM_RUN: runs the guest until it exits to user space, and decodes why.
    public func run() throws(KVMError) -> VCPUExit {
        if ckvm_ioctl_none(fd.rawValue, IoctlRequest.run.number) < 0 {
            let error = errno
            // EINTR is an exit reason, not an error: a signal or immediate_exit stopped us.
            if error == EINTR || error == EAGAIN { return .interrupted }
            throw .ioctlFailed(name: IoctlRequest.run.name, errno: Errno(error))
        }
        return decodeExit()
    }

    /// Sets or clears `kvm_run.immediate_exit`: while set, KVM_RUN returns EINTR at once.
    /// Safe from any thread; pair it with a signal to kick a vCPU already in the guest.
    public func requestImmediateExit(_ on: Bool) {
        ckvm_set_immediate_exit(shared, on ? 1 : 0)
    }

    private func decodeExit() -> VCPUExit {
        // Read only the fields the exit reason needs, straight from the shared page:
        // a copy of the whole kvm_run (2 KiB and more) on every exit costs more than
        // the rest of the decoding.
        let reason = shared.pointee.exit_reason
        switch Int32(reason) {
        case KVM_EXIT_IO:
            let io = shared.pointee.io
            return .portIO(VCPUExit.PortIO(
                direction: io.direction == UInt8(KVM_EXIT_IO_OUT) ? .out : .in,
                port: io.port, size: Int(io.size), count: Int(io.count)))
        case KVM_EXIT_MMIO:
            let mmio = shared.pointee.mmio
            return .mmio(VCPUExit.MMIOAccess(
                address: mmio.phys_addr, size: Int(mmio.len), isWrite: mmio.is_write != 0,
                value: Self.littleEndian(mmio.data, length: mmio.len)))
        case KVM_EXIT_HLT:
            return .halt
        case KVM_EXIT_SHUTDOWN:
            return .shutdown
        case KVM_EXIT_INTR:
            return .interrupted
        case KVM_EXIT_FAIL_ENTRY:
            return .failedEntry(hardwareReason: shared.pointee.fail_entry.hardware_entry_failure_reason)
        case KVM_EXIT_INTERNAL_ERROR:
            return .internalError(decodeInternalError(shared.pointee))
        case KVM_EXIT_SYSTEM_EVENT:
            return .systemEvent(type: shared.pointee.system_event.type)
        default:
            return .other(reason: reason)
        }
    }

    private func decodeInternalError(_ state: kvm_run) -> VCPUExit.InternalError {
        let internalState = state.internal
        let count = min(Int(internalState.ndata), 16)
        let data = withUnsafeBytes(of: internalState.data) { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
        }
        var bytes: [UInt8] = []
        let failure = state.emulation_failure
        if internalState.suberror == UInt32(KVM_INTERNAL_ERROR_EMULATION),
           failure.flags & UInt64(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0 {
            let length = min(Int(failure.insn_size), 15)
            bytes = withUnsafeBytes(of: failure.insn_bytes) { Array($0.prefix(length)) }
        }
        return VCPUExit.InternalError(suberror: internalState.suberror, instructionBytes: bytes, data: data)
    }

    // MARK: Exit data

    /// The byte range of an I/O exit's data inside the kvm_run mapping, checked.
    private func ioDataOffset(item: Int) -> Int? {
        let io = shared.pointee.io
        let size = Int(io.size)
        let offset = Int(io.data_offset) + item * size
        guard item < Int(io.count), size <= 8, offset >= 0, offset + size <= mmapSize else { return nil }
        return offset
    }

    /// For an OUT exit, the value of item `item` (0 for a single OUT).
    public func portIOValue(item: Int = 0) -> UInt64 {
        guard let offset = ioDataOffset(item: item) else { return 0 }
        let raw = UnsafeRawPointer(shared) + offset
        var value: UInt64 = 0
        for i in (0..<Int(shared.pointee.io.size)).reversed() { value = value << 8 | UInt64(raw.load(fromByteOffset: i, as: UInt8.self)) }
        return value
    }

    /// For an IN exit, stores the value the guest will read for item `item`.
    public func setPortIOValue(_ value: UInt64, item: Int = 0) {
        guard let offset = ioDataOffset(item: item) else { return }
        let raw = UnsafeMutableRawPointer(shared) + offset
        for i in 0..<Int(shared.pointee.io.size) { raw.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * i)), toByteOffset: i, as: UInt8.self) }
    }

    /// For an MMIO exit, the data (`kvm_run.mmio.data`, little-endian): what a write
    /// stored, or for a read, the answer `setMMIOValue(_:)` gave.
    public func mmioValue() -> UInt64 {
        let mmio = shared.pointee.mmio
        return Self.littleEndian(mmio.data, length: mmio.len)
    }

    /// The first `length` bytes (at most 8) of `kvm_run.mmio.data` as a little-endian value.
    private static func littleEndian(
        _ data: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8), length: UInt32
    ) -> UInt64 {
        withUnsafeBytes(of: data) { bytes in
            (0..<min(Int(length), 8)).reversed().reduce(0) { $0 << 8 | UInt64(bytes[$1]) }
        }
    }

    /// For an MMIO read exit, stores the value the guest will read.
    public func setMMIOValue(_ value: UInt64) {
        let length = min(Int(shared.pointee.mmio.len), 8)
        withUnsafeMutableBytes(of: &shared.pointee.mmio.data) { bytes in
            for i in 0..<length { bytes[i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
    }
}
