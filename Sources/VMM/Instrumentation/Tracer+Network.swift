import Virtio

extension Tracer {
    /// The words and fields of a network device's event (`--trace virtio`):
    /// `frame-out bytes=N`, `frame-in bytes=N buffers=B`, `drop reason=...`,
    /// `backend-failed reason=...`.
    static func describe(_ event: NetworkEvent, in line: inout TraceLine) {
        switch event {
        case .transmitted(let bytes):
            line.word("frame-out")
            line.decimal("bytes", UInt64(bytes))
        case .received(let bytes, let buffers):
            line.word("frame-in")
            line.decimal("bytes", UInt64(bytes))
            line.decimal("buffers", UInt64(buffers))
        case .dropped(let reason):
            line.word("drop")
            line.text("reason", reason.rawValue)
        case .backendFailed(let reason):
            line.word("backend-failed")
            line.text("reason", reason)
        }
    }
}
