import CKVM
import Foundation
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// A tap interface made for a test (`ip tuntap add`), up, without IPv6 (so the host
/// sends it no chatter of its own), and a packet socket on it: what the test reads is
/// what the VMM wrote to the tap, and what it writes reaches the VMM. Removed at deinit.
final class HostTap: Sendable {
    let name: String
    let index: Int32
    /// AF_PACKET, every protocol: frames the interface receives from the VMM.
    let capture: Int32
    /// AF_PACKET with PACKET_VNET_HDR: frames sent to the VMM, with a virtio_net_hdr
    /// (the 10-byte legacy one) in front, so a test can send a TSO segment.
    let sender: Int32

    /// Why tap tests cannot run here, or nil: they need root (CAP_NET_ADMIN), /dev/net/tun
    /// and `ip`. Printed as the skip reason.
    static let problem: String? = {
        let reason: String?
        if geteuid() != 0 {
            reason = "skipped: tap tests need root (CAP_NET_ADMIN) to create tap devices"
        } else if access("/dev/net/tun", R_OK | W_OK) != 0 {
            reason = "skipped: /dev/net/tun cannot be opened here"
        } else if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && !FileManager.default.isExecutableFile(atPath: "/sbin/ip") {
            reason = "skipped: tap tests need ip(8) (iproute2)"
        } else {
            reason = nil
        }
        if let reason { print(reason) }
        return reason
    }()

    static var available: Bool { problem == nil }

    private static let counter = Locked(0)

    static func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TapError.command("ip \(arguments.joined(separator: " ")) failed") }
    }

    enum TapError: Error { case command(String), socket(String) }

    init() throws {
        let number = Self.counter.withLock { $0 += 1; return $0 }
        name = "svt\(getpid() % 10000)x\(number)"
        try Self.ip(["tuntap", "add", "dev", name, "mode", "tap"])
        try? "1".write(toFile: "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6", atomically: false, encoding: .utf8)
        try Self.ip(["link", "set", name, "up"])
        index = Int32(if_nametoindex(name))
        capture = try Self.packetSocket(index: index, vnetHeader: false)
        sender = try Self.packetSocket(index: index, vnetHeader: true)
    }

    deinit {
        close(capture)
        close(sender)
        try? Self.ip(["link", "delete", name])
    }

    private static func packetSocket(index: Int32, vnetHeader: Bool) throws -> Int32 {
        let all = UInt16(ETH_P_ALL).bigEndian
        let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(all))
        guard fd >= 0 else { throw TapError.socket("socket(AF_PACKET): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        if vnetHeader { setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, 4) }
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = all
        address.sll_ifindex = index
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
        }
        guard bound == 0 else { throw TapError.socket("bind(AF_PACKET): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Sends `frame` out of the interface, to the VMM, with virtio_net_hdr `header`
    /// (10 bytes: no offload when all zero).
    func send(_ frame: [UInt8], header: [UInt8] = [UInt8](repeating: 0, count: 10)) -> Bool {
        let bytes = header + frame
        return bytes.withUnsafeBytes { Glibc.send(sender, $0.baseAddress, $0.count, 0) } == bytes.count
    }

    /// Frames the interface received from the VMM until `seconds` pass with none, at
    /// most `limit`; frames it sent itself are skipped.
    func received(limit: Int, quietFor seconds: Double = 2) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 70_000)
        while frames.count < limit {
            var poller = pollfd(fd: capture, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { break }
            var from = sockaddr_ll()
            var length = socklen_t(MemoryLayout<sockaddr_ll>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(capture, raw.baseAddress, raw.count, 0, $0, &length) }
                }
            }
            guard count > 0 else { break }
            if from.sll_pkttype == UInt8(PACKET_OUTGOING) { continue }
            frames.append(Array(buffer[..<count]))
        }
        return frames
    }
}
