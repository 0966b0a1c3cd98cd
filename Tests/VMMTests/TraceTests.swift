import Devices
import KVM
import SystemErrors
import Testing
import Virtio
@testable import VMM
#if canImport(Glibc)
import Glibc
#endif

/// A trace line split into its parts: time, source, event, words and key=value fields.
struct ParsedTraceLine {
    let seconds: Double
    let source: String
    let event: String
    let words: [String]
    let fields: [String: String]

    init?(_ line: Substring) {
        let parts = line.split(separator: " ").map(String.init)
        guard parts.count >= 3, let seconds = Double(parts[0]) else { return nil }
        self.seconds = seconds
        source = parts[1]
        event = parts[2]
        var words: [String] = [], fields: [String: String] = [:]
        for part in parts.dropFirst(3) {
            if let equals = part.firstIndex(of: "=") {
                fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
            } else {
                words.append(part)
            }
        }
        self.words = words
        self.fields = fields
    }

    static func parse(_ text: String) -> [ParsedTraceLine] {
        text.split(separator: "\n").compactMap(ParsedTraceLine.init)
    }
}

/// A `TraceWriter` to an unlinked temporary file, and what it wrote.
final class TracePipe {
    let writer: TraceWriter
    private let fd: Int32

    init() {
        var template = Array("/tmp/swiftvmm-trace-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        writer = TraceWriter(fd: fd)
    }

    deinit { close(fd) }

    /// Everything written so far (the writer flushed first, unless not `flushing`).
    func text(flushing: Bool = true) -> String {
        if flushing { writer.flush() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(bytes.count)) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

@Suite("Tracing and counting exits, without KVM")
struct TraceTests {
    @Test("TraceLine formats times with microseconds, hexadecimal without padding, decimal")
    func lineFormat() {
        var line = TraceLine()
        line.time(12_345_678_901)
        line.word("vcpu", 3)
        line.hex("port", 0x3f8)
        line.hex("zero", 0)
        line.hex("max", .max)
        line.decimal("size", 4)
        line.text("device", "com1")
        line.newline()
        #expect(String(decoding: line.bytes, as: UTF8.self)
            == "12.345678 vcpu3 port=0x3f8 zero=0x0 max=0xffffffffffffffff size=4 device=com1\n")
        line.clear()
        line.time(999)
        #expect(String(decoding: line.bytes, as: UTF8.self) == "0.000000")
    }

    @Test("a monitor counts exits by reason and device, and traces only the categories asked for",
          arguments: [TraceCategories.io, .mmio, .exits, .all])
    func monitor(categories: TraceCategories) throws {
        let pipe = TracePipe()
        let tracer = Tracer(categories: categories, origin: 1_000, writer: pipe.writer)
        let monitor = VCPUMonitor(vcpu: 2, tracer: tracer, countsExits: true)
        let exits: [(VCPUExit, String?)] = [
            (.portIO(.init(direction: .out, port: 0x80, size: 1, count: 1)), "post"),
            (.portIO(.init(direction: .out, port: 0x80, size: 1, count: 1)), "post"),
            (.portIO(.init(direction: .in, port: 0x510, size: 2, count: 3)), nil),
            (.mmio(.init(address: 0xc000_3000, size: 2, isWrite: true, value: 7)), "virtio-blk-pci0"),
            (.mmio(.init(address: 0xd000_0070, size: 4, isWrite: false, value: 0)), "virtio-blk-mmio0"),
            (.interrupted, nil),
        ]
        for (index, (exit, device)) in exits.enumerated() {
            let start = UInt64(2_000 + index * 10_000)
            monitor.count(exit, device: device, entered: start, exited: start + 4_000, handling: 1_000)
            monitor.trace(exit, device: device, at: start + 4_000) { item in UInt64(0x40 + item) }
        }
        let tallies = monitor.tallies
        func count(_ reason: String, _ device: String?) -> Int {
            tallies.first { $0.reason == reason && $0.device == device }?.count ?? 0
        }
        #expect(count("io-out", "post") == 2)
        #expect(count("io-in", "unhandled") == 1)
        #expect(count("mmio-write", "virtio-blk-pci0") == 1)
        #expect(count("mmio-read", "virtio-blk-mmio0") == 1)
        #expect(count("interrupted", nil) == 1)
        #expect(tallies.allSatisfy { $0.handlingNanoseconds == UInt64($0.count) * 1_000 })
        #expect(monitor.time.exits == 6 && monitor.time.inKVMRun == 6 * 4_000)
        #expect(try #require(monitor.firstEntry) == 2_000)

        let lines = ParsedTraceLine.parse(pipe.text())
        let io = lines.filter { $0.event.hasPrefix("io-") }, mmio = lines.filter { $0.event.hasPrefix("mmio-") }
        let others = lines.filter { $0.event == "interrupted" }
        #expect(io.count == (categories.isDisjoint(with: [.io, .exits]) ? 0 : 5))  // the rep insw: 3 lines
        #expect(mmio.count == (categories.isDisjoint(with: [.mmio, .exits]) ? 0 : 2))
        #expect(others.count == (categories.contains(.exits) ? 1 : 0))
        #expect(lines.allSatisfy { $0.source == "vcpu2" })
        if let first = io.first {
            #expect(first.seconds == 0.000005)  // exited at 6_000 ns, origin 1_000
            #expect(first.fields == ["port": "0x80", "size": "1", "value": "0x40", "device": "post"])
            #expect(io[2].fields["device"] == "unhandled" && io[2].fields["item"] == "1/3")
            #expect(io[4].fields["item"] == "3/3" && io[4].fields["value"] == "0x42")
        }
        if let write = mmio.first {
            #expect(write.fields == ["address": "0xc0003000", "size": "2", "value": "0x7", "device": "virtio-blk-pci0"])
            #expect(mmio[1].fields["value"] == "0x40")  // a read: the answer given
        }
    }

    @Test("virtio events become lines naming the device; a disk monitor counts read and written bytes")
    func virtioLines() {
        let pipe = TracePipe()
        let disk = DiskMonitor(path: "/images/a.img", tracer: Tracer(categories: .virtio, origin: 0, writer: pipe.writer))
        disk.observe(.statusChanged(from: [], to: [.acknowledge, .driver]), device: "vda")
        disk.observe(.queueNotified(queue: 0), device: "vda")
        disk.observe(.blockRequest(queue: 0, BlockRequestRecord(type: 0, sector: 8, dataBytes: 4096, status: 0)), device: "vda")
        disk.observe(.blockRequest(queue: 0, BlockRequestRecord(type: 1, sector: 1, dataBytes: 512, status: 0)), device: "vda")
        disk.observe(.blockRequest(queue: 0, BlockRequestRecord(type: 1, sector: 9, dataBytes: 0, status: 1, failure: .readOnly)), device: "vda")
        disk.observe(.interruptSent(.usedBuffer(queue: 0), route: .msix(vector: 1)), device: "vda")
        let tally = disk.tally(device: "vda")
        #expect(tally == .init(device: "vda", path: "/images/a.img", requests: 3, bytesRead: 4096, bytesWritten: 512))
        let lines = ParsedTraceLine.parse(pipe.text())
        #expect(lines.map(\.event) == ["status", "notify", "request", "request", "request", "interrupt"])
        #expect(lines.allSatisfy { $0.source == "vda" })
        #expect(lines[0].fields == ["from": "0x0", "to": "0x3", "bits": "ACKNOWLEDGE|DRIVER"])
        #expect(lines[2].fields == ["queue": "0", "type": "IN", "sector": "8", "bytes": "4096", "status": "OK"])
        #expect(lines[4].fields["status"] == "IOERR" && lines[4].fields["reason"] == "read-only")
        #expect(lines[5].words == ["used-buffer"] && lines[5].fields == ["queue": "0", "route": "msix", "vector": "1"])
    }

    @Test("the line of a failed request says why it failed: the check it broke, or the host call and its errno")
    func failedRequestLines() {
        let pipe = TracePipe()
        let disk = DiskMonitor(path: "/images/a.img", tracer: Tracer(categories: .virtio, origin: 0, writer: pipe.writer))
        let failures: [(BlockRequestRecord, [String: String])] = [
            (BlockRequestRecord(type: 0, sector: 16, dataBytes: 0, status: 1, failure: .pastEnd(sector: 16, sectors: 1, capacity: 16)),
             ["type": "IN", "sector": "16", "reason": "past-end"]),
            (BlockRequestRecord(type: 0x7f, sector: 0, dataBytes: 0, status: 2, failure: .unsupportedType(0x7f)),
             ["type": "type-127", "status": "UNSUPP", "reason": "unsupported-type"]),
            (BlockRequestRecord(type: nil, sector: nil, dataBytes: 0, status: 1, failure: .headerTooShort(readableBytes: 8)),
             ["type": "none", "reason": "short-header"]),
            (BlockRequestRecord(type: 0, sector: 0, dataBytes: 1024, status: 1, failure: .hostIO(SystemCallError("pread", Errno(EIO)))),
             ["bytes": "1024", "reason": "host-io", "call": "pread", "errno": "EIO"]),
        ]
        for (record, _) in failures { disk.observe(.blockRequest(queue: 0, record), device: "vda") }
        let lines = ParsedTraceLine.parse(pipe.text())
        #expect(lines.count == failures.count)
        for (line, (_, expected)) in zip(lines, failures) {
            for (key, value) in expected { #expect(line.fields[key] == value, "\(key) in \(line.fields)") }
        }
        #expect(lines[2].fields["sector"] == nil)  // no header, no sector
    }

    @Test("the trace writer holds lines until a block is full or it is flushed")
    func buffering() {
        let pipe = TracePipe()
        pipe.writer.append(Array("one line\n".utf8))
        #expect(pipe.text(flushing: false) == "")
        #expect(pipe.text() == "one line\n")
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: TraceWriter.blockSize) + [10]
        pipe.writer.append(long)  // a full block goes out at once
        #expect(pipe.text(flushing: false).utf8.count == "one line\n".utf8.count + long.count)
    }
}
