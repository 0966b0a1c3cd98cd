import HostIO
import SystemErrors
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on an ephemeral port of `family` (IPv6 sockets are IPv6-only),
/// and that port; nil where the host has no such family. Closed at once, it leaves a port
/// that was free a moment ago.
func listener(family: Int32) -> (fd: Int32, port: UInt16)? {
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var one: Int32 = 1
    var storage = sockaddr_storage()
    var length: socklen_t
    if family == AF_INET6 {
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    } else {
        length = socklen_t(MemoryLayout<sockaddr_in>.size)
    }
    storage.ss_family = sa_family_t(family)
    let port: UInt16? = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            guard bind(fd, address, length) == 0, listen(fd, 1) == 0, getsockname(fd, address, &length) == 0 else { return nil }
            // sin_port and sin6_port sit at the same offset, after the family.
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
    guard let port else { close(fd); return nil }
    return (fd, port)
}

@Suite("Port forwards: a host port in use is found before passt starts")
struct PortCheckTests {
    @Test("a port another program listens on, on IPv4 or on IPv6 alone, is in use; once closed, it is free",
          arguments: [AF_INET, AF_INET6])
    func inUse(family: Int32) throws {
        guard let (fd, port) = listener(family: family) else {
            print("skipped: this host has no address family \(family) to listen on")
            return
        }
        #expect(HostIO.bindProblem(port: port) == Errno(EADDRINUSE))
        close(fd)
        #expect(HostIO.bindProblem(port: port) == nil)
    }
}
