/// How a run ended, for the CLI's exit status and messages.
public struct MachineReport: Sendable {
    /// Why the machine stopped (the first stop wins).
    public let reason: StopReason
    /// The devices whose flush failed after the vCPUs stopped, with the error.
    public let flushFailures: [DeviceFlush.Failure]
    /// What went wrong with the host while the machine ran and did not stop it, each
    /// said once (`HostFaults`).
    public let warnings: [String]
    /// Port accesses no device answered (reads returned all ones).
    public let unknownPortAccesses: Int
    /// The first such port, for the message.
    public let firstUnknownPort: UInt16?
    /// MMIO accesses no device answered.
    public let unknownMMIOAccesses: Int
    /// The statistics, when `Instrumentation.collectsStatistics` asked for them.
    public let statistics: MachineStatistics?
    /// The console's last lines, when the console was watched (`ConsoleWatch`).
    public let lastConsoleLines: [String]
    /// Whether `Instrumentation.expectedOutput` appeared on the console.
    public let sawExpectedOutput: Bool
    /// Where each vCPU was, when the machine stopped because its time ran out (empty
    /// for every other stop).
    public let vcpuPositions: [VCPUPosition]
}
