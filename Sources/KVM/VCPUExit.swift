import CKVM

/// Why KVM_RUN returned, decoded from `kvm_run.exit_reason` (api.rst 5, "The kvm_run
/// structure"). Data that must be answered (an IN's value, an MMIO read) is reached
/// through the `VCPU` accessors, before the next KVM_RUN.
public enum VCPUExit: Sendable, Equatable {
    /// KVM_EXIT_IO: an IN or OUT (possibly a string instruction: `count` items).
    case portIO(PortIO)
    /// KVM_EXIT_MMIO: an access to guest physical memory that is not RAM.
    case mmio(MMIOAccess)
    /// KVM_EXIT_HLT: only without an in-kernel local APIC.
    case halt
    /// KVM_EXIT_SHUTDOWN: a triple fault; the vCPU cannot continue.
    case shutdown
    /// KVM_RUN returned EINTR (a signal) or saw `immediate_exit`.
    case interrupted
    /// KVM_EXIT_FAIL_ENTRY: the hardware refused to enter the guest.
    case failedEntry(hardwareReason: UInt64)
    /// KVM_EXIT_INTERNAL_ERROR: KVM could not go on (for suberror 1, its instruction
    /// emulator met an instruction it cannot run).
    case internalError(InternalError)
    /// KVM_EXIT_SYSTEM_EVENT: the guest asked for shutdown, reset or crash (PSCI, etc.).
    case systemEvent(type: UInt32)
    /// The system event type of a power-off (KVM_SYSTEM_EVENT_SHUTDOWN).
    public static let shutdownEvent = UInt32(KVM_SYSTEM_EVENT_SHUTDOWN)
    /// Any other exit reason.
    case other(reason: UInt32)

    /// `kvm_run.io`: an IN or OUT the guest executed (api.rst 5, KVM_EXIT_IO).
    public struct PortIO: Sendable, Equatable {
        /// KVM_EXIT_IO_IN or KVM_EXIT_IO_OUT.
        public enum Direction: Sendable, Equatable { case `in`, out }
        public let direction: Direction
        public let port: UInt16
        /// Bytes per item: 1, 2 or 4.
        public let size: Int
        /// Items: 1, or more for `rep ins`/`rep outs`.
        public let count: Int

        /// An access of `count` items of `size` bytes at `port`.
        public init(direction: Direction, port: UInt16, size: Int, count: Int) {
            self.direction = direction
            self.port = port
            self.size = size
            self.count = count
        }
    }

    /// `kvm_run.mmio`: a guest access to a physical address that is not RAM (api.rst 5,
    /// KVM_EXIT_MMIO).
    public struct MMIOAccess: Sendable, Equatable {
        public let address: UInt64
        /// 1, 2, 4 or 8 bytes.
        public let size: Int
        public let isWrite: Bool
        /// For a write, the value written (little-endian, `size` bytes).
        public let value: UInt64

        /// An access of `size` bytes at `address`.
        public init(address: UInt64, size: Int, isWrite: Bool, value: UInt64) {
            self.address = address
            self.size = size
            self.isWrite = isWrite
            self.value = value
        }
    }

    /// `kvm_run.internal` (and, for emulation failures, `emulation_failure`): why KVM
    /// could not go on (api.rst 5, KVM_EXIT_INTERNAL_ERROR).
    public struct InternalError: Sendable, Equatable {
        /// KVM_INTERNAL_ERROR_*: 1 emulation, 2 simultaneous exception, 3 delivery event.
        public let suberror: UInt32
        /// The instruction bytes KVM could not emulate, when it reported them.
        public let instructionBytes: [UInt8]
        /// The raw `internal.data` words.
        public let data: [UInt64]

        /// An error of `suberror`, with the instruction bytes and data KVM reported.
        public init(suberror: UInt32, instructionBytes: [UInt8], data: [UInt64]) {
            self.suberror = suberror
            self.instructionBytes = instructionBytes
            self.data = data
        }

        public var isEmulationFailure: Bool { suberror == UInt32(KVM_INTERNAL_ERROR_EMULATION) }
    }
}

extension VCPUExit {
    /// The exit's name in traces and statistics: `io-in`, `io-out`, `mmio-read`,
    /// `mmio-write` (KVM_EXIT_IO and KVM_EXIT_MMIO by direction), `interrupted`, `halt`,
    /// `shutdown`, `internal-error`, `fail-entry`, `system-event` or `other`.
    public var name: String {
        switch self {
        case .portIO(let io): return io.direction == .in ? "io-in" : "io-out"
        case .mmio(let access): return access.isWrite ? "mmio-write" : "mmio-read"
        case .interrupted: return "interrupted"
        case .halt: return "halt"
        case .shutdown: return "shutdown"
        case .internalError: return "internal-error"
        case .failedEntry: return "fail-entry"
        case .systemEvent: return "system-event"
        case .other: return "other"
        }
    }

    /// Whether the exit is an access that reaches a device, or none: port I/O or MMIO.
    public var isAccess: Bool {
        switch self {
        case .portIO, .mmio: return true
        default: return false
        }
    }

    /// Whether the exit reads (an IN, an MMIO read): its answer is known only once handled.
    public var isRead: Bool {
        switch self {
        case .portIO(let io): return io.direction == .in
        case .mmio(let access): return !access.isWrite
        default: return false
        }
    }
}
