import Foundation
import Testing
import JSON
import VMM
@testable import SwiftVMMCommand

@Suite("Command line: tracing, statistics and boot checks")
struct RunOptionsTests {
    func options(_ arguments: [String]) throws -> RunOptions {
        guard case .run(_, let options) = try Arguments.parse(["run"] + arguments) else {
            Issue.record("not a run command")
            return RunOptions()
        }
        return options
    }

    @Test("--trace takes categories, comma-separated; alone, or before another flag, it means all")
    func trace() throws {
        #expect(try options(["--trace", "io,virtio"]).trace == [.io, .virtio])
        #expect(try options(["--trace=exits"]).trace == .exits)
        #expect(try options(["--trace", "all"]).trace == .all)
        #expect(try options(["--trace"]).trace == .all)
        let both = try options(["--trace", "--stats"])
        #expect(both.trace == .all && both.stats)
        #expect(try options(["--trace", "mmio", "--trace-file", "/tmp/t"]).traceFile == "/tmp/t")
    }

    @Test("--stats is a switch; --stats-json, --ready-marker, --expect and --timeout take values")
    func values() throws {
        let parsed = try options([
            "--stats", "--stats-json", "/tmp/s.json", "--ready-marker", "login:", "--expect=Welcome", "--timeout", "2.5",
        ])
        #expect(parsed.stats && parsed.statsJSONPath == "/tmp/s.json")
        #expect(parsed.readyMarker == "login:" && parsed.expect == "Welcome" && parsed.timeout == 2.5)
        #expect(try Arguments.parse(["run", "--memory", "64M", "--stats"])
                == .run(MachineConfiguration(memorySize: 64 << 20), { var o = RunOptions(); o.stats = true; return o }()))
    }

    @Test("bad or lonely options are usage errors that say what is wrong")
    func errors() {
        let cases: [([String], String)] = [
            (["--trace", "disk"], "--trace 'disk': unknown category 'disk'; the categories are exits, io, mmio, virtio, all"),
            (["--trace", "io,"], "unknown category ''"),
            (["--trace-file", "/tmp/t"], "--trace-file needs --trace"),
            (["--stats=yes"], "--stats takes no value"),
            (["--ready-marker", "x"], "--ready-marker is reported in the statistics"),
            (["--expect", ""], "--expect needs a non-empty value"),
            (["--timeout", "0"], "--timeout '0': not a number of seconds greater than 0"),
            (["--timeout", "soon"], "--timeout 'soon'"),
            (["--timeout", "inf"], "--timeout 'inf'"),
            (["--timeout"], "--timeout needs a value"),
            (["--stats", "--stats"], "--stats is given more than once"),
        ]
        for (arguments, message) in cases {
            do {
                _ = try Arguments.parse(["run"] + arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(error.message.contains(message), "\(arguments): \(error.message)")
            }
        }
    }
}

@Suite("Statistics reports")
struct StatisticsReportTests {
    static let sample = MachineStatistics(
        exits: [
            .init(reason: "io-in", device: "com1", count: 10, handlingNanoseconds: 10_000),
            .init(reason: "io-out", device: "com1", count: 30, handlingNanoseconds: 90_000),
            .init(reason: "io-out", device: "post", count: 1000, handlingNanoseconds: 1_500_000),
            .init(reason: "mmio-read", device: "unhandled", count: 1, handlingNanoseconds: 700),
            .init(reason: "interrupted", device: nil, count: 2, handlingNanoseconds: 100),
        ],
        vcpus: [.init(vcpu: 0, exits: 1043, inKVMRun: 25_000_000, inVMM: 3_000_000)],
        disks: [.init(device: "virtio-blk-pci0", path: "/i/\"a\".img", requests: 9, bytesRead: 2048, bytesWritten: 512)],
        timeline: BootTimeline(vmReady: 10_000_000, firstGuestEntry: 11_000_000, firstConsoleByte: 12_500_000, exit: 40_000_000))

    @Test("the JSON parses, and says what the table says")
    func json() throws {
        let text = StatisticsReport.json(Self.sample, reason: .reset, status: 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(try #require(document["exit_status"] as? Int) == 0)
        #expect(document["stop_reason"] as? String == "reset")
        let byReason = try #require(document["exits_by_reason"] as? [[String: Any]])
        #expect(byReason.map { $0["reason"] as? String } == ["io-out", "io-in", "interrupted", "mmio-read"])
        #expect(byReason[0]["count"] as? Int == 1030 && byReason[0]["handling_ns"] as? Int == 1_590_000)
        let byDevice = try #require(document["exits_by_device"] as? [[String: Any]])
        #expect(byDevice.first?["device"] as? String == "post" && byDevice.first?["mean_ns"] as? Int == 1500)
        let exits = try #require(document["exits"] as? [[String: Any]])
        #expect(exits.count == 5 && exits.last?["device"] is NSNull)
        let disk = try #require((document["disks"] as? [[String: Any]])?.first)
        #expect(disk["path"] as? String == "/i/\"a\".img" && disk["bytes_read"] as? Int == 2048 && disk["bytes_written"] as? Int == 512)
        let timeline = try #require(document["timeline_ns"] as? [String: Any])
        #expect(timeline["first_console_byte"] as? Int == 12_500_000 && timeline["ready_marker"] is NSNull)
        let vcpu = try #require((document["vcpus"] as? [[String: Any]])?.first)
        #expect(vcpu["in_kvm_run_ns"] as? Int == 25_000_000 && vcpu["in_vmm_ns"] as? Int == 3_000_000)
    }

    @Test("the table: totals in ms, means in µs, '-' for a milestone that did not happen")
    func table() {
        let lines = StatisticsReport.table(Self.sample).split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines.contains("io-out 1030 1.590 1.543"))  // 1543.7 ns: means are whole nanoseconds
        #expect(lines.contains("post 1000 1.500 1.500"))
        #expect(lines.contains("vcpu0 1043 25.000 3.000"))
        #expect(lines.contains("virtio-blk-pci0 /i/\"a\".img 9 2048 512"))
        #expect(lines.contains("first console byte 12.500"))
        #expect(lines.contains("ready marker -"))
    }

    @Test("JSON strings escape quotes, backslashes and control characters (RFC 8259, 7)")
    func quoting() {
        #expect(JSONValue.quote("a\"b\\c\n\u{1}é") == "\"a\\\"b\\\\c\\n\\u0001é\"")
    }
}
