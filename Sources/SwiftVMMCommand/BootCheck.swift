import VMM

/// The verdict of a CI boot check (`--expect STRING --timeout SECONDS`): the exit status
/// and, when the check failed, what to tell the user.
enum BootCheck {
    /// The exit status: the stop reason's, except that with `--expect`, a guest that
    /// reset or powered off before the string appeared did not pass
    /// (`ExitStatus.expectedOutputMissing`).
    static func status(of report: MachineReport, expecting expected: String?) -> Int32 {
        if expected != nil, report.reason == .reset || report.reason == .powerOff, !report.sawExpectedOutput {
            return ExitStatus.expectedOutputMissing
        }
        return report.reason.exitStatus
    }

    /// What went wrong, with the console's last lines, or nil if the check passed (or
    /// there was none): the time ran out, or the guest ended (a reset, a power-off, a
    /// write to isa-debug-exit) before the string appeared.
    static func failure(of report: MachineReport, expecting expected: String?, timeout: Double?) -> String? {
        let waiting = expected.map { " waiting for \"\($0)\"" } ?? ""
        let headline: String
        switch report.reason {
        case .timedOut:
            let seconds = timeout ?? 0
            let whole = seconds.rounded() == seconds && seconds < 1e9
            headline = "timed out after \(whole ? String(Int(seconds)) : String(seconds)) s (--timeout)\(waiting)"
        case .reset where expected != nil && !report.sawExpectedOutput,
            .powerOff where expected != nil && !report.sawExpectedOutput:
            headline = "the guest reset or powered off before \"\(expected!)\" appeared on the console"
        case .debugExit(let value) where expected != nil && !report.sawExpectedOutput:
            // The guest's own status stands (odd, never 0: it cannot pass for success).
            headline = "the guest ended through isa-debug-exit (value \(value), status "
                + "\(report.reason.exitStatus)) before \"\(expected!)\" appeared on the console"
        default:
            return nil
        }
        // "vCPU 0 halted at RIP 0xffffffff81c0f8a4", RIPs written as every stop message writes them.
        let positions = report.vcpuPositions.map {
            "\n  vCPU \($0.id) \($0.halted ? "halted" : "running") at RIP \(StopMessage.hex($0.rip))"
        }.joined()
        guard !report.lastConsoleLines.isEmpty else { return headline + "; the console showed nothing" + positions }
        return headline + "; the last console lines:\n" + report.lastConsoleLines.map { "  | " + $0 }.joined(separator: "\n") + positions
    }
}
