import JSON
import VMM

/// `--stats` and `--stats-json`: the machine's statistics as a table for people and as
/// JSON for CI pipelines. Both say the same things; times in the table are in
/// milliseconds (totals) and microseconds (means), in the JSON in nanoseconds.
enum StatisticsReport {
    // MARK: The table

    /// The table `--stats` prints on stderr.
    static func table(_ statistics: MachineStatistics) -> String {
        var lines = ["statistics:"]
        func section(_ title: String, _ header: [String], _ rows: [[String]]) {
            lines.append("")
            lines += columns([[title] + header] + rows.map { ["  " + $0[0]] + $0.dropFirst() })
        }
        section("exits by reason", ["count", "total ms", "mean µs"], statistics.exitsByReason.map {
            [$0.reason, String($0.count), milliseconds($0.handlingNanoseconds), microseconds($0.meanNanoseconds)]
        })
        section("exits by device", ["count", "total ms", "mean µs"], statistics.exitsByDevice.map {
            [$0.device, String($0.count), milliseconds($0.handlingNanoseconds),
             microseconds(MachineStatistics.mean($0.handlingNanoseconds, over: $0.count))]
        })
        section("vCPU time", ["exits", "in KVM_RUN ms", "in VMM ms"], statistics.vcpus.map {
            ["vcpu\($0.vcpu)", String($0.exits), milliseconds($0.inKVMRun), milliseconds($0.inVMM)]
        })
        if !statistics.disks.isEmpty {
            section("disks", ["requests", "bytes read", "bytes written"], statistics.disks.map {
                ["\($0.device) \($0.path)", String($0.requests), String($0.bytesRead), String($0.bytesWritten)]
            })
        }
        section("boot timeline", ["ms since start"], statistics.timeline.milestones.map {
            [$0.name, $0.nanoseconds.map(milliseconds) ?? "-"]
        })
        return lines.joined(separator: "\n") + "\n"
    }

    /// Rows of cells as aligned text: the first column left-aligned, the others right.
    static func columns(_ rows: [[String]]) -> [String] {
        let count = rows.map(\.count).max() ?? 0
        let widths = (0..<count).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : "  " + padding + cell
            }.joined()
        }
    }

    /// Nanoseconds as milliseconds with three decimals: `12.345`.
    static func milliseconds(_ nanoseconds: UInt64) -> String { fixed(nanoseconds, unit: 1_000_000) }

    /// Nanoseconds as microseconds with three decimals: `4.866`.
    static func microseconds(_ nanoseconds: UInt64) -> String { fixed(nanoseconds, unit: 1_000) }

    private static func fixed(_ value: UInt64, unit: UInt64) -> String {
        let thousandths = (value * 1000 + unit / 2) / unit
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    // MARK: JSON

    /// The document `--stats-json` writes: the statistics, with how the run ended.
    static func json(_ statistics: MachineStatistics, reason: StopReason, status: Int32) -> String {
        func tally(_ reason: String?, _ device: String?, _ count: Int, _ nanoseconds: UInt64) -> JSONValue {
            var members: [(String, JSONValue)] = []
            if let reason { members.append(("reason", .string(reason))) }
            members.append(("device", device.map(JSONValue.string) ?? .null))
            members += [("count", .integer(Int64(count))), ("handling_ns", .number(nanoseconds)),
                        ("mean_ns", .number(MachineStatistics.mean(nanoseconds, over: count)))]
            return .object(members)
        }
        let timeline = statistics.timeline
        let document = JSONValue.object([
            ("exit_status", .integer(Int64(status))),
            ("stop_reason", .string(StopMessage.name(of: reason))),
            ("exits", .array(statistics.exits.map { tally($0.reason, $0.device, $0.count, $0.handlingNanoseconds) })),
            ("exits_by_reason", .array(statistics.exitsByReason.map {
                .object([("reason", .string($0.reason)), ("count", .integer(Int64($0.count))),
                         ("handling_ns", .number($0.handlingNanoseconds)), ("mean_ns", .number($0.meanNanoseconds))])
            })),
            ("exits_by_device", .array(statistics.exitsByDevice.map { tally(nil, $0.device, $0.count, $0.handlingNanoseconds) })),
            ("vcpus", .array(statistics.vcpus.map {
                .object([("vcpu", .integer(Int64($0.vcpu))), ("exits", .integer(Int64($0.exits))),
                         ("in_kvm_run_ns", .number($0.inKVMRun)), ("in_vmm_ns", .number($0.inVMM))])
            })),
            ("disks", .array(statistics.disks.map {
                .object([("device", .string($0.device)), ("path", .string($0.path)),
                         ("requests", .integer(Int64($0.requests))),
                         ("bytes_read", .number($0.bytesRead)), ("bytes_written", .number($0.bytesWritten))])
            })),
            ("timeline_ns", .object([
                ("process_start", .integer(0)), ("vm_ready", .number(timeline.vmReady)),
                ("first_guest_instruction", .number(timeline.firstGuestEntry)),
                ("first_console_byte", .number(timeline.firstConsoleByte)),
                ("ready_marker", .number(timeline.readyMarker)), ("exit", .number(timeline.exit)),
            ])),
        ])
        return document.text() + "\n"
    }
}
