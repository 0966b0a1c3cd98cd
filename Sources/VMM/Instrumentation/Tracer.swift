import KVM
import Virtio

/// Writes `--trace` lines: one per event, the time since the process started first,
/// then who (a vCPU or a device), what happened, and `key=value` fields.
///
/// ```
/// 0.104520 vcpu0 io-out port=0x3f8 size=1 value=0x48 device=com1
/// 0.104544 vcpu0 io-in port=0x3fd size=1 value=0x60 device=com1
/// 0.210377 vcpu0 mmio-write address=0xc0003000 size=2 value=0x0 device=virtio-blk-pci0
/// 0.210391 virtio-blk-pci0 notify queue=0
/// 0.210402 virtio-blk-pci0 request queue=0 type=IN sector=0 bytes=512 status=OK
/// 0.210410 virtio-blk-pci0 interrupt used-buffer queue=0 route=intx
/// 0.352110 vcpu0 interrupted
/// ```
/// A string instruction (`rep outsb`) is one exit with several items: one line each,
/// with `item=i/n`. An access no device answered says `device=unhandled`.
final class Tracer: Sendable {
    /// What to show.
    let categories: TraceCategories
    /// The time 0 of every line: the process start (`Instrumentation.origin`).
    let origin: UInt64
    let writer: TraceWriter

    /// A tracer of `categories` to `writer`, timing lines from `origin`.
    init(categories: TraceCategories, origin: UInt64, writer: TraceWriter) {
        self.categories = categories
        self.origin = origin
        self.writer = writer
    }

    /// Whether `exit` is shown.
    func shows(_ exit: VCPUExit) -> Bool {
        switch exit {
        case .portIO: return !categories.isDisjoint(with: [.exits, .io])
        case .mmio: return !categories.isDisjoint(with: [.exits, .mmio])
        default: return categories.contains(.exits)
        }
    }

    /// Writes the line (or lines) of one exit of vCPU `vcpu` at `time`, using `line` as
    /// scratch space; see `VCPUMonitor.trace` for `device` and `value`.
    func trace(
        _ exit: VCPUExit, vcpu: Int, at time: UInt64, device: String?,
        value: (Int) -> UInt64, line: inout TraceLine
    ) {
        guard shows(exit) else { return }
        func begin() {
            line.clear()
            line.time(time &- origin)
            line.word("vcpu", vcpu)
            line.word(exit.name)
        }
        switch exit {
        case .portIO(let io):
            for item in 0..<io.count {
                begin()
                line.hex("port", UInt64(io.port))
                line.decimal("size", UInt64(io.size))
                line.hex("value", value(item))
                line.text("device", device ?? VCPUMonitor.unhandled)
                if io.count > 1 { line.text("item", "\(item + 1)/\(io.count)") }
                finish(&line)
            }
        case .mmio(let access):
            begin()
            line.hex("address", access.address)
            line.decimal("size", UInt64(access.size))
            line.hex("value", access.isWrite ? access.value : value(0))
            line.text("device", device ?? VCPUMonitor.unhandled)
            finish(&line)
        case .internalError(let error):
            begin()
            line.decimal("suberror", UInt64(error.suberror))
            finish(&line)
        case .failedEntry(let hardwareReason):
            begin()
            line.hex("hardware-reason", hardwareReason)
            finish(&line)
        case .systemEvent(let type):
            begin()
            line.decimal("type", UInt64(type))
            finish(&line)
        case .other(let code):
            begin()
            line.decimal("code", UInt64(code))
            finish(&line)
        case .interrupted, .halt, .shutdown:
            begin()
            finish(&line)
        }
    }

    /// Writes the line of a virtio event, if virtio events are shown.
    func trace(_ event: VirtioEvent, device: String) {
        guard categories.contains(.virtio) else { return }
        var line = TraceLine()
        line.time(MonotonicClock.now() &- origin)
        line.word(device)
        switch event {
        case .queueNotified(let queue):
            line.word("notify")
            line.decimal("queue", UInt64(queue))
        case .blockRequest(let queue, let request):
            line.word("request")
            line.decimal("queue", UInt64(queue))
            line.text("type", request.typeName)
            if let sector = request.sector { line.decimal("sector", sector) }
            line.decimal("bytes", request.dataBytes)
            line.text("status", request.statusName)
            if let failure = request.failure {
                line.text("reason", failure.reason)
                if case .hostIO(let error) = failure {
                    line.text("call", error.call)
                    line.text("errno", error.errno.name)
                }
            }
        case .interruptSent(let interrupt, let route):
            line.word("interrupt")
            switch interrupt {
            case .usedBuffer(let queue):
                line.word("used-buffer")
                line.decimal("queue", UInt64(queue))
            case .configurationChange:
                line.word("configuration-change")
            }
            switch route {
            case .line: line.text("route", "line")
            case .intx: line.text("route", "intx")
            case .noVector: line.text("route", "no-vector")
            case .msix(let vector):
                line.text("route", "msix")
                line.decimal("vector", UInt64(vector))
            case .msixPending(let vector):
                line.text("route", "msix-pending")
                line.decimal("vector", UInt64(vector))
            }
        case .statusChanged(let old, let new):
            line.word("status")
            line.hex("from", UInt64(old.rawValue))
            line.hex("to", UInt64(new.rawValue))
            line.text("bits", new.names)
        }
        finish(&line)
    }

    private func finish(_ line: inout TraceLine) {
        line.newline()
        writer.append(line.bytes)
    }
}
