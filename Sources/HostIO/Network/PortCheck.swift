import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

extension HostIO {
    /// Whether a TCP (or UDP) listener could bind `port` on every IPv4 and every IPv6
    /// address now, as a port forward must (passt listens on both): nil if it could,
    /// otherwise the errno (EADDRINUSE: another program has it; EACCES: ports below 1024
    /// need privileges). A host without IPv6 is checked on IPv4 alone. Each test socket
    /// is closed at once, with SO_REUSEADDR so it leaves nothing behind.
    public static func bindProblem(port: UInt16, udp: Bool = false) -> Errno? {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = port.bigEndian
        v4.sin_addr = in_addr(s_addr: INADDR_ANY)
        if let problem = bindProblem(&v4, family: AF_INET, udp: udp) { return problem }
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        v6.sin6_addr = in6addr_any
        let problem = bindProblem(&v6, family: AF_INET6, udp: udp)
        return problem?.rawValue == EAFNOSUPPORT ? nil : problem
    }

    /// Whether a socket of `family` binds `address` (an IPv6 one only for IPv6, so that
    /// the IPv4 check above stays the IPv4 one).
    private static func bindProblem<Address>(_ address: inout Address, family: Int32, udp: Bool) -> Errno? {
        let type = Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family, type, 0)
        guard fd >= 0 else { return .current }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        return result == 0 ? nil : .current
    }
}
