import Dispatch
import HostIO
import SystemErrors
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Unix sockets (unix(7)), as virtio-vsock's host side uses them")
struct UnixSocketTests {
    @Test("a connection that does not wait fails at once, EAGAIN, where the listener's backlog is full")
    func connectWithoutWaiting() throws {
        let path = "/tmp/svmm-backlog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        // A listener that never accepts, with no backlog to speak of: one connection
        // waits in its queue, the next finds it full.
        let listener = try UnixSocket.listen(at: path, backlog: 0)
        let first = try UnixSocket.connect(to: path, waiting: false)
        let started = DispatchTime.now()
        do {
            _ = try UnixSocket.connect(to: path, waiting: false)
            Issue.record("a second connection fit in a full backlog")
        } catch {
            #expect(error.operation == "connect" && error.errno == Errno(EAGAIN), "\(error)")
        }
        #expect(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds < 1_000_000_000)
        withExtendedLifetime((listener, first)) {}
    }

    @Test("errors name the call, the path and the errno: a path where nothing listens")
    func refused() {
        let path = "/tmp/svmm-nothing-\(getpid())"
        do {
            _ = try UnixSocket.connect(to: path, waiting: false)
            Issue.record("connected to nothing")
        } catch {
            #expect(error.description == "connect \(path): No such file or directory (ENOENT)")
        }
    }
}
