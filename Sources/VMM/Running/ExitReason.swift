import KVM

/// Why a vCPU left KVM_RUN, as traces and statistics name it: `kvm_run.exit_reason`
/// (api.rst 5, "The kvm_run structure"), with port I/O and MMIO split by direction.
public enum ExitReason: String, Sendable, Hashable, CaseIterable, Comparable {
    /// KVM_EXIT_IO, an IN.
    case ioIn = "io-in"
    /// KVM_EXIT_IO, an OUT.
    case ioOut = "io-out"
    /// KVM_EXIT_MMIO, a read.
    case mmioRead = "mmio-read"
    /// KVM_EXIT_MMIO, a write.
    case mmioWrite = "mmio-write"
    /// KVM_RUN returned EINTR: a signal or `immediate_exit` (the machine stopping).
    case interrupted
    /// KVM_EXIT_HLT.
    case halt
    /// KVM_EXIT_SHUTDOWN: a triple fault.
    case shutdown
    /// KVM_EXIT_INTERNAL_ERROR.
    case internalError = "internal-error"
    /// KVM_EXIT_FAIL_ENTRY.
    case failedEntry = "fail-entry"
    /// KVM_EXIT_SYSTEM_EVENT.
    case systemEvent = "system-event"
    /// Any other exit reason.
    case other

    /// The reason of `exit`.
    public init(_ exit: VCPUExit) {
        switch exit {
        case .portIO(let io): self = io.direction == .in ? .ioIn : .ioOut
        case .mmio(let access): self = access.isWrite ? .mmioWrite : .mmioRead
        case .interrupted: self = .interrupted
        case .halt: self = .halt
        case .shutdown: self = .shutdown
        case .internalError: self = .internalError
        case .failedEntry: self = .failedEntry
        case .systemEvent: self = .systemEvent
        case .other: self = .other
        }
    }

    /// Port I/O and MMIO exits reach a device (or none); the others do not.
    public var reachesDevice: Bool { self == .ioIn || self == .ioOut || self == .mmioRead || self == .mmioWrite }

    /// In declaration order, the order tables list them.
    public static func < (lhs: ExitReason, rhs: ExitReason) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
