/// Exit counts by reason and device, as a vCPU's monitor adds them up on the exit path.
///
/// A short array with the last entry used tried first, not a dictionary (why:
/// docs/PERFORMANCE.md, exit tracing and statistics).
struct ExitTallies {
    private(set) var all: [MachineStatistics.ExitTally] = []
    private var last = 0

    /// Adds `count` exits of `reason` (`VCPUExit.name`) at `device` that took
    /// `nanoseconds` to handle.
    mutating func add(_ reason: String, device: String?, count: Int, nanoseconds: UInt64) {
        if !(last < all.count && all[last].reason == reason && all[last].device == device) {
            if let index = all.firstIndex(where: { $0.reason == reason && $0.device == device }) {
                last = index
            } else {
                all.append(.init(reason: reason, device: device, count: 0, handlingNanoseconds: 0))
                last = all.count - 1
            }
        }
        all[last].count += count
        all[last].handlingNanoseconds += nanoseconds
    }
}
