import CKVM

/// The `kvm_run` area a vCPU shares with the kernel (api.rst 5, "The kvm_run
/// structure"): why KVM_RUN returned, the data of the exit, and the answer the next
/// KVM_RUN hands the guest. A `VCPU` maps one over its file descriptor; tests build one
/// by hand, so exit decoding is checked without KVM.
///
/// Only the vCPU's own thread reads and writes it, except `immediate_exit`, which other
/// threads set atomically to stop the vCPU.
struct KVMRunArea {
    /// The area, `size` bytes (KVM_GET_VCPU_MMAP_SIZE: `kvm_run`, then the data of
    /// string port I/O, which `io.data_offset` points into).
    let pointer: UnsafeMutablePointer<kvm_run>
    let size: Int

    // MARK: Decoding

    /// Why KVM_RUN returned, from `exit_reason` and the fields that reason uses. Reads only
    /// those fields, straight from the area (see docs/PERFORMANCE.md, figure 1).
    func decodeExit() -> VCPUExit {
        let reason = pointer.pointee.exit_reason
        switch Int32(reason) {
        case KVM_EXIT_IO:
            let io = pointer.pointee.io
            return .portIO(VCPUExit.PortIO(
                direction: io.direction == UInt8(KVM_EXIT_IO_OUT) ? .out : .in,
                port: io.port, size: Int(io.size), count: Int(io.count)))
        case KVM_EXIT_MMIO:
            let mmio = pointer.pointee.mmio
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
            return .failedEntry(hardwareReason: pointer.pointee.fail_entry.hardware_entry_failure_reason)
        case KVM_EXIT_INTERNAL_ERROR:
            return .internalError(decodeInternalError())
        case KVM_EXIT_SYSTEM_EVENT:
            return .systemEvent(type: pointer.pointee.system_event.type)
        default:
            return .other(reason: reason)
        }
    }

    /// `internal` and, for an emulation failure that carries them, the instruction bytes
    /// of `emulation_failure` (at most 15, an x86 instruction's longest).
    private func decodeInternalError() -> VCPUExit.InternalError {
        let state = pointer.pointee.internal
        let count = min(Int(state.ndata), Self.internalDataWords)
        let data = withUnsafeBytes(of: state.data) { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
        }
        var bytes: [UInt8] = []
        let failure = pointer.pointee.emulation_failure
        if state.suberror == UInt32(KVM_INTERNAL_ERROR_EMULATION),
           failure.flags & UInt64(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0 {
            let length = min(Int(failure.insn_size), Self.instructionBytesLimit)
            bytes = withUnsafeBytes(of: failure.insn_bytes) { Array($0.prefix(length)) }
        }
        return VCPUExit.InternalError(suberror: state.suberror, instructionBytes: bytes, data: data)
    }

    /// `internal.data` holds 16 words.
    static let internalDataWords = 16
    /// The longest x86 instruction (Intel SDM vol. 2, 2.3.11).
    static let instructionBytesLimit = 15

    // MARK: Port I/O data

    /// Where item `item` of a KVM_EXIT_IO's data lies in the area: `io.data_offset` plus
    /// `item` items of `io.size` bytes; nil when that is not inside the area (the kernel
    /// puts it there; the check keeps a wrong value from reaching other memory).
    private func ioDataOffset(item: Int) -> Int? {
        let io = pointer.pointee.io
        let size = Int(io.size)
        let offset = Int(io.data_offset) + item * size
        guard item >= 0, item < Int(io.count), size <= 8, offset >= 0, offset + size <= self.size else { return nil }
        return offset
    }

    /// The value item `item` of an OUT wrote, little-endian; 0 for an item outside the area.
    func portIOValue(item: Int) -> UInt64 {
        guard let offset = ioDataOffset(item: item) else { return 0 }
        let raw = UnsafeRawPointer(pointer) + offset
        var value: UInt64 = 0
        for byte in (0..<Int(pointer.pointee.io.size)).reversed() {
            value = value << 8 | UInt64(raw.load(fromByteOffset: byte, as: UInt8.self))
        }
        return value
    }

    /// Stores what item `item` of an IN reads; nothing for an item outside the area.
    func setPortIOValue(_ value: UInt64, item: Int) {
        guard let offset = ioDataOffset(item: item) else { return }
        let raw = UnsafeMutableRawPointer(pointer) + offset
        for byte in 0..<Int(pointer.pointee.io.size) {
            raw.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * byte)), toByteOffset: byte, as: UInt8.self)
        }
    }

    // MARK: MMIO data

    /// `mmio.data`: what a write stored, or the answer given to a read.
    func mmioValue() -> UInt64 {
        let mmio = pointer.pointee.mmio
        return Self.littleEndian(mmio.data, length: mmio.len)
    }

    /// Stores what an MMIO read returns: the low `mmio.len` bytes of `value`.
    func setMMIOValue(_ value: UInt64) {
        let length = min(Int(pointer.pointee.mmio.len), 8)
        withUnsafeMutableBytes(of: &pointer.pointee.mmio.data) { bytes in
            for i in 0..<length { bytes[i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
    }

    /// The first `length` bytes (at most 8) of `data` as a little-endian value.
    private static func littleEndian(
        _ data: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8), length: UInt32
    ) -> UInt64 {
        withUnsafeBytes(of: data) { bytes in
            (0..<min(Int(length), 8)).reversed().reduce(0) { $0 << 8 | UInt64(bytes[$1]) }
        }
    }

    // MARK: Stopping

    /// Sets or clears `immediate_exit` with an atomic store: while it is set, KVM_RUN
    /// returns EINTR at once (api.rst 5, "immediate_exit").
    func setImmediateExit(_ on: Bool) {
        ckvm_set_immediate_exit(pointer, on ? 1 : 0)
    }

    /// Whether `immediate_exit` is set.
    var immediateExit: Bool { pointer.pointee.immediate_exit != 0 }
}
