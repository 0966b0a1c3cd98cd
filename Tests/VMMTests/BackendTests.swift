import Foundation
import HostIO
import SystemErrors
import Testing
import Virtio
@testable import VMM
#if canImport(Glibc)
import Glibc
#endif

/// passt's end of a socket pair, played by the test.
func peerWrite(_ pair: UnixSocketPair, _ bytes: [UInt8]) {
    #expect(bytes.withUnsafeBytes { write(pair.remote, $0.baseAddress, $0.count) } == bytes.count)
}

func lengthPrefixed(_ frame: [UInt8]) -> [UInt8] {
    let n = UInt32(frame.count)
    return [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + frame
}

@Suite("Network backends: passt's stream protocol, and what a tap that cannot be opened is told")
struct BackendTests {
    @Test("QEMU's stream protocol: a frame split across reads comes whole, two in one read come apart, a partial one waits")
    func streamFraming() throws {
        let pair = try #require(UnixSocketPair())
        let backend = PasstBackend(sockets: pair, process: nil)
        var buffer = [UInt8](repeating: 0, count: 12 + VirtioNet.maximumFrame)
        let first = (0..<300).map { UInt8(truncatingIfNeeded: $0) }, second = [UInt8](repeating: 7, count: 60)
        let bytes = lengthPrefixed(first)
        #expect(backend.receive(into: &buffer, at: 12) == .empty)
        peerWrite(pair, Array(bytes[..<2]))
        #expect(backend.receive(into: &buffer, at: 12) == .empty)
        peerWrite(pair, Array(bytes[2..<100]))
        #expect(backend.receive(into: &buffer, at: 12) == .empty)
        peerWrite(pair, Array(bytes[100...]) + lengthPrefixed(second))
        #expect(backend.receive(into: &buffer, at: 12) == .frame(300))
        #expect(Array(buffer[12..<312]) == first)
        #expect(backend.receive(into: &buffer, at: 12) == .frame(60))
        #expect(Array(buffer[12..<72]) == second)
        #expect(backend.receive(into: &buffer, at: 12) == .empty)
    }

    @Test("a frame sent goes out length first; a length past 64 KiB or a closed peer fails the backend")
    func streamSendAndFailures() throws {
        let pair = try #require(UnixSocketPair())
        let backend = PasstBackend(sockets: pair, process: nil)
        let frame = [UInt8](repeating: 0x42, count: 100)
        #expect(backend.send(frame[...]) == .sent)
        var received = [UInt8](repeating: 0, count: 200)
        #expect(read(pair.remote, &received, 200) == 104)
        #expect(Array(received[..<104]) == lengthPrefixed(frame))
        var buffer = [UInt8](repeating: 0, count: 12 + VirtioNet.maximumFrame)
        peerWrite(pair, [0, 1, 0, 0x20])  // 65,568 bytes: past the largest frame
        if case .failed = backend.receive(into: &buffer, at: 12) {} else { Issue.record("an oversized frame was taken") }
        let closing = try #require(UnixSocketPair())
        let orphan = PasstBackend(sockets: closing, process: nil)
        closing.closeRemote()
        #expect(orphan.receive(into: &buffer, at: 12) == .failed("passt closed the connection"))
    }

    @Test("a stream that will not take a whole frame: the rest waits, the device hears busy and offers the same frame again")
    func streamBackPressure() throws {
        let pair = try #require(UnixSocketPair())
        let backend = PasstBackend(sockets: pair, process: nil)
        let frame = [UInt8](repeating: 0x11, count: 60_000)
        var results: [NetSendResult] = []
        for _ in 0..<64 { results.append(backend.send(frame[...])); if results.last == .busy { break } }
        #expect(results.last == .busy)
        // Drain the peer's side; the frame offered again completes, whole.
        var sink = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while case let count = read(pair.remote, &sink, sink.count), count > 0 {
            total += count
            if backend.send(frame[...]) == .sent { break }
        }
        #expect(total > 0)
    }

    @Test("tap errors: no /dev/net/tun or no permission is the host's (status 4); a tap this user may not create, or one in use, is the input's (2)")
    func tapMessages() {
        func error(_ open: TapDevice.OpenError) -> MachineError { .network(NetworkError(open, flag: "--net tap=t0", name: "t0")) }
        let missing = error(.cannotOpenControl(path: "/dev/net/tun", errno: Errno(ENOENT)))
        #expect(missing.exitStatus == 4 && "\(missing)".contains("modprobe tun"))
        let denied = error(.cannotOpenControl(path: "/dev/net/tun", errno: Errno(EACCES)))
        #expect(denied.exitStatus == 4 && "\(denied)".contains("Permission denied (EACCES)"))
        let create = error(.cannotAttach(name: "t0", errno: Errno(EPERM)))
        #expect(create.exitStatus == 2)
        #expect("\(create)" == "--net tap=t0: tap t0 does not exist and this user may not create it: create it with ip tuntap add dev t0 mode tap user USER")
        let busy = error(.cannotAttach(name: "t0", errno: Errno(EBUSY)))
        #expect(busy.exitStatus == 2 && "\(busy)".contains("in use"))
    }
}

@Suite("--net user on KVM: passt started, used and stopped", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct UserNetworkTests {
    static let passt = ChildProcess.find("passt")

    @Test("the guest's device comes up over passt, sends, and passt is gone once the machine stops",
          .enabled(if: passt != nil, "skipped: passt is not installed (apt-get install passt)"))
    func passtLifecycle() throws {
        let (output, report) = try bootWithDevices(
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.net testguest.netsend=3",
            networks: [NetworkConfiguration(backend: .user(forwards: []))])
        #expect(report.reason == .reset)
        let lines = output.split(whereSeparator: \.isNewline).map(String.init)
        #expect(lines.contains { $0.hasPrefix("net0: pci, mac 02:") && $0.hasSuffix("link up, mtu 1500, offloads off") }, "\(output)")
        #expect(lines.contains("net0: sent 3 frames"), "\(output)")
        #expect(lines.last { $0.hasPrefix("net0: link") } == "net0: link up", "\(output)")
        // No passt left among this process's children.
        let children = (try? String(contentsOfFile: "/proc/\(getpid())/task/\(getpid())/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ") {
            let name = (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8)) ?? ""
            #expect(!name.hasPrefix("passt"), "passt \(child) still runs")
        }
    }
}

extension UserNetworkTests {
    @Test("hostfwd: a connection to the forwarded host port reaches the guest as a TCP/IPv4 frame through passt",
          .enabled(if: passt != nil, "skipped: passt is not installed (apt-get install passt)"))
    func forwardedPortReachesGuest() throws {
        // A port free now: listen on an ephemeral one, read it back, let it go.
        let (probe, port) = try #require(listener(family: AF_INET))
        close(probe)
        let (output, report) = try bootWithDevices(
            // A long wait: the guest stops waiting as soon as the frame comes, and under
            // ThreadSanitizer passt's answer can take seconds.
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.net testguest.netsend=1 testguest.netrecv=1 testguest.netwait=30000000",
            networks: [NetworkConfiguration(backend: .user(forwards: [.init(proto: .tcp, hostPort: port, guestPort: 80)]))]
        ) { output in
            guard wait(for: "net0: ready", in: output) else { return }
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = port.bigEndian
            target.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
            _ = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            _ = wait(for: "net0: link", in: output, seconds: 240)
            close(client)
        }
        #expect(report.reason == .reset)
        #expect(output.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("net0: received") && $0.contains("type 0x0800") }, "\(output)")
    }
}
