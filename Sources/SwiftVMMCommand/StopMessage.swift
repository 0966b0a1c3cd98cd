import KVM
import VMM
#if canImport(Glibc)
import Glibc
#endif

/// What the user is told when a guest stops on its own terms or crashes.
enum StopMessage {
    static func describe(_ reason: StopReason) -> String? {
        switch reason {
        case .reset, .powerOff, .debugExit, .userQuit, .expectedOutput, .timedOut:
            // A timeout is told with the console's last lines (`BootCheck.failure`).
            return nil
        case .signal(let number):
            return "stopped by \(number == SIGINT ? "SIGINT" : "SIGTERM")"
        case .tripleFault(let vcpu, let rip):
            let place = rip.map { " at RIP \(hex($0))" } ?? ""
            let unknown = rip == nil ? " (where is unknown: KVM reset the vCPU as it reported the fault, as it does on AMD)" : ""
            return "the guest triple-faulted on vCPU \(vcpu)\(place): "
                + "an exception occurred that the CPU could not deliver (KVM_EXIT_SHUTDOWN)\(unknown)"
        case .failedEntry(let vcpu, let rip, let reason):
            return "KVM could not enter the guest on vCPU \(vcpu) at RIP \(hex(rip)) "
                + "(KVM_EXIT_FAIL_ENTRY, hardware reason 0x\(String(reason, radix: 16)))"
        case .internalError(let vcpu, let rip, let error):
            return internalError(vcpu: vcpu, rip: rip, error: error)
        case .vcpuFailure(let vcpu, let error):
            return "vCPU \(vcpu) failed: \(error)"
        case .unexpectedExit(let vcpu, let reason):
            return "vCPU \(vcpu) failed: unexpected KVM exit reason \(reason)"
        case .hostFailure(let device, let error):
            return "\(device): \(error); the machine stopped, as its guest would wait for ever"
        }
    }

    static func internalError(vcpu: Int, rip: UInt64?, error: VCPUExit.InternalError) -> String {
        guard error.isEmulationFailure else {
            return "KVM internal error on vCPU \(vcpu) at RIP \(hex(rip)): suberror \(error.suberror) "
                + "(KVM_EXIT_INTERNAL_ERROR), data \(error.data.map { "0x" + String($0, radix: 16) })"
        }
        var message = "KVM could not emulate the instruction at RIP \(hex(rip)) on vCPU \(vcpu)"
        if error.instructionBytes.isEmpty {
            message += " (KVM_INTERNAL_ERROR_EMULATION; no instruction bytes reported)"
        } else {
            let bytes = error.instructionBytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
            message += ": bytes \(bytes.joined(separator: " "))"
            if let name = InstructionHint.name(of: error.instructionBytes) { message += " (\(name))" }
        }
        if !HostVirtualization.detect().isHardwareAssisted {
            message += "\n" + HostVirtualization.emulationAdvice
        }
        return message
    }

    /// A short name for `reason`, as `--stats-json` gives it.
    static func name(of reason: StopReason) -> String {
        switch reason {
        case .reset: return "reset"
        case .powerOff: return "power-off"
        case .debugExit: return "debug-exit"
        case .userQuit: return "user-quit"
        case .signal: return "signal"
        case .tripleFault: return "triple-fault"
        case .internalError: return "internal-error"
        case .failedEntry: return "failed-entry"
        case .vcpuFailure, .unexpectedExit: return "vcpu-failure"
        case .hostFailure: return "host-failure"
        case .expectedOutput: return "expected-output"
        case .timedOut: return "timed-out"
        }
    }

    static func hex(_ value: UInt64?) -> String {
        value.map { "0x" + String($0, radix: 16) } ?? "unknown"
    }
}
