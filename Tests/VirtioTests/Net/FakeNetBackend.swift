import Locking
@testable import Virtio

/// A network backend in memory: frames to hand the device, frames it sent, and switches
/// for a backend with no room or a failed one.
final class FakeNetBackend: NetBackend {
    struct State {
        var incoming: [[UInt8]] = []
        var sent: [[UInt8]] = []
        var busy = false
        var failure: String? = nil
        var offloads: [ReceiveOffloads] = []
        var reads = 0
    }
    let passesHeader: Bool
    private let state = Locked(State())

    init(passesHeader: Bool) { self.passesHeader = passesHeader }

    func queue(_ frame: [UInt8]) { state.withLock { $0.incoming.append(frame) } }
    var sent: [[UInt8]] { state.withLock { $0.sent } }
    var reads: Int { state.withLock { $0.reads } }
    var pending: Int { state.withLock { $0.incoming.count } }
    var offloads: [ReceiveOffloads] { state.withLock { $0.offloads } }
    var busy: Bool {
        get { state.withLock { $0.busy } }
        set { state.withLock { $0.busy = newValue } }
    }
    func fail(_ reason: String) { state.withLock { $0.failure = reason } }

    func receive(into buffer: inout [UInt8], at offset: Int) -> NetReceiveResult {
        let next: [UInt8]? = state.withLock { state in
            state.reads += 1
            return state.failure == nil && !state.incoming.isEmpty ? state.incoming.removeFirst() : nil
        }
        if let failure = state.withLock({ $0.failure }) { return .failed(failure) }
        guard let next else { return .empty }
        let count = min(next.count, buffer.count - offset)
        buffer.replaceSubrange(offset..<offset + count, with: next.prefix(count))
        return .frame(count)
    }

    func send(_ frame: ArraySlice<UInt8>) -> NetSendResult {
        state.withLock { state in
            if let failure = state.failure { return .failed(failure) }
            if state.busy { return .busy }
            state.sent.append(Array(frame))
            return .sent
        }
    }

    func enableReceiveOffloads(_ offloads: ReceiveOffloads) { state.withLock { $0.offloads.append(offloads) } }
}
