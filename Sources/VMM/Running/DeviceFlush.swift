/// What a device must do once the guest can no longer reach it: write out what it
/// still holds, such as a disk's cached writes.
///
/// `Machine.build` collects one per device that needs it; `Machine.run()` calls them,
/// in order, after the last vCPU thread has left KVM_RUN (so no guest request can race
/// with the flush) and before it returns (so the process exits only once they are done).
public struct DeviceFlush: Sendable {
    /// The device, as messages name it ("disk /path/to/image").
    public let device: String
    public let flush: @Sendable () throws -> Void

    /// A flush of `device` that `flush` performs.
    public init(device: String, flush: @escaping @Sendable () throws -> Void) {
        self.device = device
        self.flush = flush
    }

    /// Runs every flush, even after one fails; returns a message for each failure.
    static func runAll(_ flushes: [DeviceFlush]) -> [String] {
        flushes.compactMap { entry in
            do {
                try entry.flush()
                return nil
            } catch {
                return "\(entry.device): flush failed: \(error)"
            }
        }
    }
}
