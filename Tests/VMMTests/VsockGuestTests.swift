import Dispatch
import Foundation
import HostIO
import Locking
import Testing
import VMM

/// Connection i's byte j from the test guest (vsock.c, vsock_pattern).
private func pattern(_ connection: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { j in UInt8(truncatingIfNeeded: UInt32(j) &* 131 &+ UInt32(connection) &* 17 &+ (UInt32(j) >> 8)) }
}

/// Reads until `count` bytes came or the stream ended.
private func receive(_ socket: UnixSocket, count: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    while bytes.count < count, case .bytes(let more) = socket.receive(upTo: count - bytes.count, timeoutMilliseconds: 60_000) {
        bytes += more
    }
    return bytes
}

@Suite("virtio-vsock with the test guest: Firecracker's hybrid Unix sockets, both directions, byte-exact",
       .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct VsockGuestTests {
    @Test("three host programs CONNECT to a guest listener and get their bytes echoed; the guest opens three connections to a host listener; all at once")
    func bothDirections() throws {
        let directory = "/tmp/svmm-vsock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/v.sock"
        let size = 6000, count = 3

        // The host listener guest connections to port 5000 reach: echo, and keep what came.
        let listener = try UnixSocket.listen(at: path + "_5000")
        let fromGuest = Locked<[[UInt8]]>([])
        let hostSide = DispatchGroup()
        DispatchQueue(label: "test.vsock.listener").async(group: hostSide) {
            let serving = DispatchGroup()
            for index in 0..<count {
                guard let connection = listener.accept() else { return }
                DispatchQueue(label: "test.vsock.echo\(index)").async(group: serving) {
                    var received: [UInt8] = []
                    while case .bytes(let bytes) = connection.receive(upTo: 65536, timeoutMilliseconds: 60_000) {
                        received += bytes
                        connection.send(bytes)
                    }
                    fromGuest.withLock { $0.append(received) }
                }
            }
            serving.wait()
        }

        let output = CapturedOutput()
        // Host programs connecting to the guest's port 1234 as soon as the device's socket
        // exists: before the guest's driver has started, so they wait through its reset.
        let echoed = Locked<[(sent: [UInt8], back: [UInt8], handshake: String)]>([])
        for index in 0..<count {
            DispatchQueue(label: "test.vsock.client\(index)").async(group: hostSide) {
                var socket: UnixSocket?
                for _ in 0..<600 where socket == nil {
                    socket = try? UnixSocket.connect(to: path)
                    if socket == nil { usleep(50_000) }
                }
                guard let socket else { return }
                socket.send(Array("CONNECT 1234\n".utf8))
                var line: [UInt8] = []
                while line.last != UInt8(ascii: "\n"), case .bytes(let byte) = socket.receive(upTo: 1, timeoutMilliseconds: 60_000) {
                    line += byte
                }
                let sent = (0..<size + index * 1000).map { _ in UInt8.random(in: 0...255) }
                socket.send(sent)
                let back = receive(socket, count: sent.count)
                echoed.withLock { $0.append((sent, back, String(decoding: line, as: UTF8.self))) }
            }
        }

        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF),
            commandLine: "console=ttyS0 testguest.quiet testguest.noacpi testguest.vsock.listen=1234,\(count) testguest.vsock.connect=5000,\(count),\(size)",
            memorySize: 64 << 20,
            vsock: VsockConfiguration(guestCID: 42, udsPath: path))
        let machine = try Machine.build(configuration, console: Console(output: output, inputFD: nil))
        let report = machine.run()
        #expect(report.reason == .reset, "\(output.text)")
        #expect(hostSide.wait(timeout: .now() + 30) == .success)

        let text = output.text
        #expect(text.contains("vsock: guest CID 42"))
        for index in 0..<count {
            #expect(text.contains("vsock: connection \(index) to host port 5000: \(size) bytes sent, \(size) echoed exactly"))
        }
        #expect(text.contains("vsock: done: \(count) served, \(count) echoed exactly, 0 failed"), "\(text)")
        // Guest to host: each connection's bytes arrived exactly as the guest sent them.
        let received = fromGuest.withLock { $0 }
        #expect(Set(received) == Set((0..<count).map { pattern($0, size) }))
        // Host to guest and back: every program got its own bytes back, after "OK port".
        let results = echoed.withLock { $0 }
        #expect(results.count == count)
        for result in results {
            #expect(result.handshake.hasPrefix("OK ") && result.handshake.hasSuffix("\n"))
            #expect(result.back == result.sent)
        }
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed when the machine stops")
    }

    @Test("a vsock socket path that is taken is bad input, found before the machine is built")
    func pathTaken() throws {
        let path = "/tmp/svmm-vsock-taken-\(getpid())"
        try #require(FileManager.default.createFile(atPath: path, contents: Data()), "cannot create \(path)")
        defer { unlink(path) }
        let configuration = MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20,
                                                 vsock: VsockConfiguration(guestCID: 3, udsPath: path))
        #expect(throws: MachineError.self) { try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil)) }
        #expect(FileManager.default.fileExists(atPath: path), "someone else's file stays")
    }
}
