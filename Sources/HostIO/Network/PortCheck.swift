import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

extension HostIO {
    /// Whether a TCP (or UDP) listener could bind `port` on every IPv4 address now, as
    /// a port forward must: nil if it could, otherwise the errno (EADDRINUSE: another
    /// program has it; EACCES: ports below 1024 need privileges). The test socket is
    /// closed at once, with SO_REUSEADDR so it leaves nothing behind.
    public static func bindProblem(port: UInt16, udp: Bool = false) -> Errno? {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .current }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0 ? nil : .current
    }
}
