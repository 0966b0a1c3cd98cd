import KVM

/// Why a machine stopped, and the exit status `swiftvmm` turns it into.
public enum StopReason: Sendable, Equatable {
    /// The guest asked for a reset (i8042 command 0xfe, how Linux's `reboot` restarts a PC,
    /// or a KVM system event). A VMM without firmware treats it as power-off.
    case reset
    /// The guest powered the machine off: ACPI sleep state S5 through the sleep control
    /// register (Linux's `poweroff`), or a KVM system event saying so.
    case powerOff
    /// The guest wrote `value` to the isa-debug-exit port.
    case debugExit(value: UInt32)
    /// The user typed Ctrl-A x on the console.
    case userQuit
    /// SIGINT or SIGTERM reached the VMM.
    case signal(Int32)
    /// A vCPU triple-faulted (KVM_EXIT_SHUTDOWN).
    case tripleFault(vcpu: Int, rip: UInt64?)
    /// KVM could not go on with a vCPU (KVM_EXIT_INTERNAL_ERROR).
    case internalError(vcpu: Int, rip: UInt64?, error: VCPUExit.InternalError)
    /// The hardware refused to enter the guest (KVM_EXIT_FAIL_ENTRY).
    case failedEntry(vcpu: Int, rip: UInt64?, hardwareReason: UInt64)
    /// KVM_RUN itself failed on vCPU `vcpu`.
    case vcpuFailure(vcpu: Int, KVMError)
    /// KVM_RUN returned with an exit reason SwiftVMM does not handle.
    case unexpectedExit(vcpu: Int, reason: UInt32)
    /// KVM refused a call a device needs to go on (raising its interrupt line): the
    /// guest would wait for ever.
    case hostFailure(device: String, KVMError)
    /// The `--expect` string appeared on the console: the boot check passed.
    case expectedOutput
    /// The `--timeout` ran out with the machine still running
    /// (`Instrumentation.timeout` says how long it was).
    case timedOut

    /// The process exit status for this stop (documented in `swiftvmm --help`).
    public var exitStatus: Int32 {
        switch self {
        case .reset, .powerOff, .userQuit, .expectedOutput:
            return ExitStatus.success
        case .timedOut:
            return ExitStatus.timedOut
        case .debugExit(let value):
            // QEMU's isa-debug-exit: the process exits with (value << 1) | 1.
            return Int32(truncatingIfNeeded: (value << 1) | 1) & 0xff
        case .signal(let number):
            return 128 + number
        case .tripleFault, .internalError, .failedEntry, .vcpuFailure, .unexpectedExit:
            return ExitStatus.guestCrashed
        case .hostFailure:
            return ExitStatus.hostError
        }
    }

    /// True for the stops that end a healthy run (the guest or the user chose them).
    public var isClean: Bool { exitStatus == ExitStatus.success || isDebugExit }

    private var isDebugExit: Bool {
        if case .debugExit = self { return true }
        return false
    }
}

/// The process exit statuses of `swiftvmm`, in one place.
public enum ExitStatus {
    /// The guest reset or powered off the machine (or the user quit with Ctrl-A x).
    public static let success: Int32 = 0
    /// Bad input: a usage error, a missing or broken kernel, initrd or size. No VM ran.
    public static let badInput: Int32 = 2
    /// The host cannot run the VM: /dev/kvm missing or not accessible, a KVM capability
    /// or ioctl failed while building the machine, or a device's KVM call failed while it ran.
    public static let hostError: Int32 = 4
    /// The guest crashed: triple fault, KVM internal or emulation error, failed entry.
    public static let guestCrashed: Int32 = 6
    /// `--expect` was given, and the guest reset or powered off before the string
    /// appeared. The next even number after the statuses above (odd ones are the guest's,
    /// through isa-debug-exit).
    public static let expectedOutputMissing: Int32 = 8
    /// `--timeout` ran out: 124, as timeout(1) exits when its command times out.
    public static let timedOut: Int32 = 124
}
