/// What a device must do once the guest can no longer reach it: write out what it
/// still holds, such as a disk's cached writes.
///
/// `Machine.build` collects one per device that needs it; `Machine.run()` calls them,
/// in order, after the last vCPU thread has left KVM_RUN (so no guest request can race
/// with the flush) and before it returns (so the process exits only once they are done).
public struct DeviceFlush: Sendable {
    /// A flush that failed: the device, and the error its flush threw.
    public struct Failure: Sendable, CustomStringConvertible {
        public let device: String
        public let error: any Error & Sendable

        /// "disk /tmp/a.img: flush failed: fdatasync failed: Input/output error (EIO)"
        public var description: String { "\(device): flush failed: \(error)" }
    }

    /// The device, as messages name it ("disk /path/to/image").
    public let device: String
    public let flush: @Sendable () throws -> Void

    /// A flush of `device` that `flush` performs.
    public init(device: String, flush: @escaping @Sendable () throws -> Void) {
        self.device = device
        self.flush = flush
    }

    /// Runs every flush, even after one fails; returns each failure.
    static func runAll(_ flushes: [DeviceFlush]) -> [Failure] {
        flushes.compactMap { entry in
            do {
                try entry.flush()
                return nil
            } catch {
                return Failure(device: entry.device, error: error)
            }
        }
    }
}
