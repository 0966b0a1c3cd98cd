import Dispatch
import Foundation
import Testing
import Virtio
@testable import VMM

/// Boots the test guest with `networks` and `rng`; `whileRunning` gets the console text
/// so far, polled, until it returns true.
func bootWithDevices(
    commandLine: String, networks: [NetworkConfiguration] = [], rng: RNGConfiguration? = nil, memory: UInt64 = 64 << 20,
    whileRunning: (@Sendable (CapturedOutput) -> Void)? = nil
) throws -> (output: String, report: MachineReport) {
    let output = CapturedOutput()
    var configuration = MachineConfiguration(kernel: .file(Repository.testGuestELF), commandLine: commandLine, memorySize: memory)
    configuration.networks = networks
    configuration.rng = rng
    let machine = try Machine.build(configuration, console: Console(output: output, inputFD: nil))
    if let whileRunning { DispatchQueue(label: "test.while-running").async { whileRunning(output) } }
    let report = machine.run()
    return (output.text, report)
}

/// Waits up to `seconds` for `text` in the console output.
func wait(for text: String, in output: CapturedOutput, seconds: Double = 120) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if output.text.contains(text) { return true }
        usleep(20_000)
    }
    return false
}

/// A test frame as the test guest builds it (net.c): broadcast, from `mac`, EtherType
/// 0x88b5, sequence number, then byte i = 7i + seq.
func testFrame(seq: Int, mac: [UInt8]) -> [UInt8] {
    let length = min(60 + seq * 200, 1514)
    var frame = [UInt8](repeating: 0xff, count: 6) + mac + [0x88, 0xb5, UInt8(seq)]
    for i in 15..<length { frame.append(UInt8(truncatingIfNeeded: i * 7 + seq)) }
    return frame
}

/// A TCP segment of `payload` bytes (byte i = 7i) from 10.0.0.1 to 10.0.0.2, or over IPv6
/// from fd00::1 to fd00::2, its TCP checksum left partial, as the virtio_net_hdr beside it
/// says (NEEDS_CSUM, GSO TCPV4 or TCPV6 of 1000-byte segments).
func tsoFrame(to mac: [UInt8], payload: Int, ipv6: Bool = false) -> (frame: [UInt8], header: [UInt8]) {
    func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    func fold(_ sum: Int) -> Int { var sum = sum; while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }; return sum }
    let ip: [UInt8], pseudoSum: Int
    if ipv6 {
        let source: [UInt8] = [0xfd] + [UInt8](repeating: 0, count: 14) + [1]
        let destination: [UInt8] = [0xfd] + [UInt8](repeating: 0, count: 14) + [2]
        ip = [0x60, 0, 0, 0] + be16(20 + payload) + [6, 64] + source + destination
        pseudoSum = 0xfd00 + 1 + 0xfd00 + 2 + 20 + payload + 6
    } else {
        var header: [UInt8] = [0x45, 0] + be16(40 + payload) + [0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        let sum = fold(stride(from: 0, to: 20, by: 2).reduce(0) { $0 + (Int(header[$1]) << 8 | Int(header[$1 + 1])) })
        header.replaceSubrange(10..<12, with: be16(~sum & 0xffff))
        ip = header
        pseudoSum = 0x0a00 + 1 + 0x0a00 + 2 + 6 + 20 + payload
    }
    let tcp: [UInt8] = be16(5001) + be16(40000) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff] + be16(fold(pseudoSum)) + [0, 0]
    let etherType: [UInt8] = ipv6 ? [0x86, 0xdd] : [0x08, 0x00]
    let frame = mac + [0x02, 0, 0, 0, 0, 0x09] + etherType + ip + tcp + (0..<payload).map { UInt8(truncatingIfNeeded: $0 * 7) }
    // struct virtio_net_hdr: flags NEEDS_CSUM, gso TCPV4 (1) or TCPV6 (4), hdr_len,
    // gso_size 1000, csum_start (the TCP header), csum_offset 16.
    let headers = 14 + ip.count + 20
    let header: [UInt8] = [1, ipv6 ? 4 : 1, UInt8(headers), 0, 0xe8, 0x03, UInt8(14 + ip.count), 0, 16, 0]
    return (frame, header)
}

@Suite("virtio-net and virtio-rng on KVM: the test guest against a real tap and the host's getrandom",
       .enabled(if: KVMAvailability.available, KVMAvailability.reason), .serialized)
struct NetworkTests {
    static let modes: [(DiskConfiguration.Transport, Bool)] = [(.pci, false), (.pci, true), (.mmio, false), (.mmio, true)]

    @Test("5.1.6: frames the guest sends arrive on the tap whole; frames written to the tap reach the guest; TSO segments (IPv4 and IPv6) pass through with the offloads on and are cut without",
          .enabled(if: HostTap.available, Comment(rawValue: HostTap.problem ?? "")), arguments: modes)
    func framesBothWays(transport: DiskConfiguration.Transport, offloads: Bool) throws {
        let tap = try HostTap()
        let mac = MACAddress("52:54:00:aa:bb:0\(offloads ? 1 : 0)")!
        let segments = offloads ? 1 : 4
        let (frame, header) = tsoFrame(to: mac.bytes, payload: 4000)
        let (frame6, header6) = tsoFrame(to: mac.bytes, payload: 4000, ipv6: true)
        let (output, report) = try bootWithDevices(
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.net testguest.netsend=4 testguest.netrecv=\(2 + 2 * segments)"
                + (offloads ? " testguest.netoffload" : ""),
            networks: [NetworkConfiguration(backend: .tap(tap.name), mac: mac, transport: transport)]
        ) { output in
            guard wait(for: "net0: ready", in: output) else { return }
            _ = tap.send(testFrame(seq: 7, mac: [2, 0, 0, 0, 0, 9]))
            _ = tap.send(testFrame(seq: 8, mac: [2, 0, 0, 0, 0, 9]))
            _ = tap.send(frame, header: header)
            _ = tap.send(frame6, header: header6)
        }
        #expect(report.reason == .reset, "\(output)")
        let lines = output.split(whereSeparator: \.isNewline).map(String.init)
        #expect(lines.contains("net0: \(transport.rawValue), mac \(mac), link up, mtu 1500, offloads \(offloads ? "on" : "off")"), "\(output)")
        #expect(lines.contains("net0: sent \(offloads ? 6 : 4) frames"), "\(output)")

        // What the guest sent, as the host's side of the tap saw it.
        // Frames 0-3, the TSO segments (IPv4, IPv6) with the offloads, and frame 4 at the end.
        let seen = tap.received(limit: 10).filter { Array($0[6..<12]) == mac.bytes }
        let expected = (0..<4).map { testFrame(seq: $0, mac: mac.bytes) }
        #expect(Array(seen.prefix(4)) == expected)
        #expect(seen.last == testFrame(seq: 4, mac: mac.bytes))
        if offloads {
            // One 4054-byte segment and one 4074-byte one, not four of each: the TSO
            // requests went through the tap whole.
            #expect(seen.count == 7)
            let payload = (0..<4000).map { UInt8(truncatingIfNeeded: $0 * 7) }
            for (index, headers, etherType) in [(4, 54, 0x0800), (5, 74, 0x86dd)] {
                let segment = seen.count == 7 ? seen[index] : []
                #expect(segment.count == headers + 4000)
                #expect(segment.count > 14 && Int(segment[12]) << 8 | Int(segment[13]) == etherType)
                #expect(segment.dropFirst(headers).elementsEqual(payload))
            }
        } else {
            #expect(seen.count == 5)
        }

        // What the test sent, as the guest received it.
        for seq in [7, 8] {
            let sent = testFrame(seq: seq, mac: [2, 0, 0, 0, 0, 9])
            #expect(lines.contains { $0.hasPrefix("net0: received \(sent.count) bytes, buffers 1, ") && $0.hasSuffix(", type 0x88b5, fnv " + fnv1a(sent[...])) }, "\(output)")
        }
        let tcp = lines.filter { $0.hasPrefix("net0: received") && $0.contains("type 0x0800") }
        let tcp6 = lines.filter { $0.hasPrefix("net0: received") && $0.contains("type 0x86dd") }
        if offloads {
            // One frame of 4054 bytes (IPv4) and one of 4074 (IPv6), each with its header
            // over two 2 KiB buffers, GSO TCPV4 and TCPV6, the checksum partial: byte for
            // byte what the test sent.
            #expect(tcp == ["net0: received 4054 bytes, buffers 2, flags 1, gso 1, type 0x0800, fnv " + fnv1a(frame[...])], "\(output)")
            #expect(tcp6 == ["net0: received 4074 bytes, buffers 2, flags 1, gso 4, type 0x86dd, fnv " + fnv1a(frame6[...])], "\(output)")
        } else {
            // Segmented by the host before the tap: four frames of 1000 bytes of payload each.
            #expect(tcp.count == 4 && tcp.allSatisfy { $0.hasPrefix("net0: received 1054 bytes, buffers 1, ") && $0.contains("gso 0") }, "\(output)")
            #expect(tcp6.count == 4 && tcp6.allSatisfy { $0.hasPrefix("net0: received 1074 bytes, buffers 1, ") && $0.contains("gso 0") }, "\(output)")
        }
    }

    @Test("5.4: the guest reads the entropy device over both transports: every byte it asked for, of many values")
    func entropy() throws {
        for transport in DiskConfiguration.Transport.allCases {
            let (output, report) = try bootWithDevices(
                commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.rng=4096", rng: RNGConfiguration(transport: transport))
            #expect(report.reason == .reset)
            let line = output.split(whereSeparator: \.isNewline).first { $0.hasPrefix("rng0: ") }.map(String.init) ?? ""
            #expect(line.hasPrefix("rng0: \(transport.rawValue), read 4096 bytes in 8 requests, "), "\(output)")
            // 4096 random bytes hold nearly every value (fewer than 250 distinct has a
            // probability below 10^-9).
            let distinct = Int(line.split(separator: " ").dropFirst(8).first ?? "") ?? 0
            #expect(distinct >= 250, "\(line)")
        }
    }

    @Test("rate limit on KVM: at 2048 bytes a second (bursts of a second's worth), 6 KiB take the guest at least two seconds")
    func entropyRateLimited() throws {
        let start = Date()
        let (output, report) = try bootWithDevices(
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.rng=6144", rng: RNGConfiguration(rate: 2048))
        let elapsed = Date().timeIntervalSince(start)
        #expect(report.reason == .reset)
        #expect(output.contains("rng0: pci, read 6144 bytes"), "\(output)")
        // 2048 at once, then 4096 more at 2048 a second.
        #expect(elapsed >= 2.0, "\(elapsed) s")
    }
}

/// A counter of the tap's host side (/sys/class/net/NAME/statistics): for a tap,
/// `tx_packets` counts the frames the VMM read, `tx_dropped` those the kernel dropped
/// because its queue was full.
func tapStatistic(_ tap: HostTap, _ name: String) -> Int {
    Int(((try? String(contentsOfFile: "/sys/class/net/\(tap.name)/statistics/\(name)", encoding: .utf8)) ?? "")
        .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
}

@Suite("virtio-net on KVM against a hostile world: a tap that vanishes, a flood nobody reads",
       .enabled(if: KVMAvailability.available, KVMAvailability.reason), .serialized)
struct NetworkHostileTests {
    @Test("the tap deleted under a running guest: the link goes down, the guest hears of it and runs on; SwiftVMM stays up",
          .enabled(if: HostTap.available, Comment(rawValue: HostTap.problem ?? "")), arguments: DiskConfiguration.Transport.allCases)
    func tapVanishes(transport: DiskConfiguration.Transport) throws {
        let tap = try HostTap()
        let (output, report) = try bootWithDevices(
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.net testguest.netsend=1 testguest.netrecv=1 testguest.netwait=300000",
            networks: [NetworkConfiguration(backend: .tap(tap.name), transport: transport)]
        ) { output in
            guard wait(for: "net0: ready", in: output) else { return }
            try? HostTap.ip(["link", "delete", tap.name])
        }
        #expect(report.reason == .reset, "\(output)")
        let lines = output.split(whereSeparator: \.isNewline).map(String.init)
        let waited = lines.firstIndex(of: "net0: no frame came")
        #expect(waited != nil && lines.dropFirst(waited! + 1).first == "net0: link down", "\(output)")
    }

    @Test("a flood of 20,000 frames into the tap while the guest posts 8 receive buffers and never another, and sends 300: the device reads 8, the host kernel drops the rest")
    func floodNobodyReads() throws {
        let tap = try HostTap()
        let (output, report) = try bootWithDevices(
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.net testguest.netsend=300",
            networks: [NetworkConfiguration(backend: .tap(tap.name))]
        ) { output in
            for seq in 0..<20_000 { _ = tap.send(testFrame(seq: seq % 8, mac: [2, 0, 0, 0, 0, 9])) }
        }
        #expect(report.reason == .reset)
        #expect(output.contains("net0: sent 300 frames"), "\(output)")
        // The device read only what the guest had buffers for (one frame each), and so
        // held at most one more; memory stayed bounded whatever the flood.
        #expect(tapStatistic(tap, "tx_packets") <= 8)
        #expect(tapStatistic(tap, "tx_dropped") > 10_000)
    }
}
