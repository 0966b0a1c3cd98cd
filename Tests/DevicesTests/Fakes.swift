import Locking

@testable import Devices

/// An interrupt line that records every level a device drives on it.
final class RecordingInterruptLine: InterruptLine {
    private let recorded = Locked<[Bool]>([])

    func setLevel(_ high: Bool) {
        recorded.withLock { $0.append(high) }
    }

    /// Every level set so far, oldest first.
    var levels: [Bool] { recorded.withLock { $0 } }

    /// The level last set (low if none was).
    var isHigh: Bool { levels.last ?? false }
}

/// A byte sink that keeps everything written to it.
final class RecordingByteSink: ByteSink {
    private let recorded = Locked<[UInt8]>([])

    func write(_ bytes: [UInt8]) {
        recorded.withLock { $0.append(contentsOf: bytes) }
    }

    var bytes: [UInt8] { recorded.withLock { $0 } }
}

/// A device that answers a read with the offset it was given and records writes.
struct OffsetEchoDevice: BusDevice {
    let name: String
    var writes: [(offset: UInt64, size: Int, value: UInt64)] = []

    mutating func read(offset: UInt64, size: Int) -> UInt64 { offset }

    mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        writes.append((offset, size, value))
        return .none
    }
}
