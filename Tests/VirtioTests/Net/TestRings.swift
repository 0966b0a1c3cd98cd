import CUAPI
import GuestMemory
import Locking
@testable import Virtio

/// A driver's side of several split virtqueues in fake guest memory, for devices with
/// more than one queue: queue n's table, available and used rings in page n of the
/// rings area, buffers from the data area up.
final class TestRings {
    static let size: UInt16 = 16
    let memory: GuestMemory
    private var availableIndex: [UInt16]
    private var nextDescriptor: [UInt16]
    private var lastUsed: [UInt16]
    private var cursor: UInt64 = 0x10_0000

    init(queues: Int, memory: GuestMemory? = nil) {
        self.memory = memory ?? (try! GuestMemory(size: 4 << 20))
        availableIndex = Array(repeating: 0, count: queues)
        nextDescriptor = Array(repeating: 0, count: queues)
        lastUsed = Array(repeating: 0, count: queues)
    }

    func table(_ queue: Int) -> GuestAddress { GuestAddress(0x1_0000 + 0x4000 * UInt64(queue)) }
    func available(_ queue: Int) -> GuestAddress { GuestAddress(table(queue).rawValue + 0x1000) }
    func used(_ queue: Int) -> GuestAddress { GuestAddress(table(queue).rawValue + 0x2000) }

    /// Sets up and enables every queue of `state`, negotiating `features`, to DRIVER_OK.
    func start(_ state: inout VirtioDeviceState, features: VirtioFeatures) {
        state.writeStatus(0)
        state.writeStatus(DeviceStatus([.acknowledge, .driver]).rawValue)
        state.writeDriverFeatures(word: 0, value: features.word(0))
        state.writeDriverFeatures(word: 1, value: features.word(1))
        state.writeStatus(DeviceStatus([.acknowledge, .driver, .featuresOK]).rawValue)
        for queue in state.queues.indices {
            state.configureQueue(queue) { [self] in
                $0.size = Self.size
                $0.descriptorTable = table(queue)
                $0.availableRing = available(queue)
                $0.usedRing = used(queue)
            }
            _ = state.enableQueue(queue)
        }
        state.writeStatus(DeviceStatus([.acknowledge, .driver, .featuresOK, .driverOK]).rawValue)
    }

    /// `bytes` placed in the data area; returns their address.
    func place(_ bytes: [UInt8]) -> GuestAddress {
        let address = GuestAddress(cursor)
        try! memory.write(bytes: bytes, at: address)
        cursor += (UInt64(bytes.count) + 15) & ~15
        return address
    }

    /// Chains `buffers` on queue `queue` and makes the chain available (no notification).
    @discardableResult
    func post(_ queue: Int, _ buffers: [(address: GuestAddress, length: UInt32, writable: Bool)]) -> UInt16 {
        let head = nextDescriptor[queue]
        for (index, buffer) in buffers.enumerated() {
            let descriptor = (head + UInt16(index)) % Self.size
            let last = index == buffers.count - 1
            let flags = (buffer.writable ? UInt16(VRING_DESC_F_WRITE) : 0) | (last ? 0 : UInt16(VRING_DESC_F_NEXT))
            let entry = vring_desc(addr: buffer.address.rawValue, len: buffer.length, flags: flags, next: (descriptor + 1) % Self.size)
            try! memory.writeValue(entry, at: GuestAddress(table(queue).rawValue + 16 * UInt64(descriptor)))
        }
        nextDescriptor[queue] = (head + UInt16(buffers.count)) % Self.size
        try! memory.write(head, at: GuestAddress(available(queue).rawValue + 4 + 2 * UInt64(availableIndex[queue] % Self.size)))
        availableIndex[queue] &+= 1
        try! memory.write(availableIndex[queue], at: GuestAddress(available(queue).rawValue + 2))
        return head
    }

    /// A device-writable buffer of `length` bytes (filled with 0xee), posted alone.
    @discardableResult
    func postWritable(_ queue: Int, length: Int) -> GuestAddress {
        let address = place([UInt8](repeating: 0xee, count: length))
        post(queue, [(address, UInt32(length), true)])
        return address
    }

    /// The used entries the device published since the last call: (id, len).
    func takeUsed(_ queue: Int) -> [(id: UInt32, length: UInt32)] {
        let index = try! memory.read(UInt16.self, at: GuestAddress(used(queue).rawValue + 2))
        var entries: [(UInt32, UInt32)] = []
        while lastUsed[queue] != index {
            let slot = GuestAddress(used(queue).rawValue + 4 + 8 * UInt64(lastUsed[queue] % Self.size))
            entries.append((try! memory.read(UInt32.self, at: slot), try! memory.read(UInt32.self, at: GuestAddress(slot.rawValue + 4))))
            lastUsed[queue] &+= 1
        }
        return entries
    }

    func bytes(at address: GuestAddress, count: Int) -> [UInt8] { try! memory.readBytes(at: address, count: count) }
}

extension VirtioDeviceState {
    /// The driver notified queue `index`: its server serves it, as a transport does, and
    /// the interrupts owed come back.
    mutating func queueNotified(_ index: Int) -> [VirtioInterrupt] {
        queueServed(index, servers[index].serve())
    }

    /// Queue `index` served without a notification, as the device's thread does when its
    /// backend or a timer wakes it.
    mutating func serve(_ index: Int) -> [VirtioInterrupt] {
        queueServed(index, servers[index].serve())
    }
}

/// Records what a device asks of its service.
final class RecordingWakeUps: VirtioWakeUps {
    private let state = Locked<(delays: [UInt64], input: [Bool], output: [Bool])>(([], [], []))
    func serveAgain(queue: Int, afterNanoseconds nanoseconds: UInt64) { state.withLock { $0.delays.append(nanoseconds) } }
    func watchBackendInput(_ watching: Bool) { state.withLock { $0.input.append(watching) } }
    func watchBackendOutput(_ watching: Bool) { state.withLock { $0.output.append(watching) } }
    var delays: [UInt64] { state.withLock { $0.delays } }
    var input: [Bool] { state.withLock { $0.input } }
    var output: [Bool] { state.withLock { $0.output } }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time = Locked<UInt64>(1_000_000_000)
    var now: UInt64 { time.withLock { $0 } }
    func advance(_ nanoseconds: UInt64) { time.withLock { $0 += nanoseconds } }
}
