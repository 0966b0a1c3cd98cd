import HostIO
import SystemErrors
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// A virtio-net backend through passt, the user-mode network stack: no privileges, the
/// guest reaches the host's networks through passt's sockets, and forwarded host ports
/// reach the guest.
///
/// SwiftVMM starts passt with one end of a socket pair (`passt --fd`), and they speak
/// QEMU's stream protocol: each frame is a 32-bit big-endian length, then the frame,
/// without a virtio-net header. Partial reads and writes are kept here (one frame's
/// worth each way, so memory stays bounded).
final class PasstBackend: NetBackend, @unchecked Sendable {
    // @unchecked: the incoming stream is touched only by the receive queue's handler, the
    // outgoing one only by the transmit queue's, each under its queue's lock.
    static let lengthSize = 4
    /// How messages name the input.
    static let flag = "--net user"
    /// The descriptor number passt gets its end of the socket pair on.
    static let childDescriptor: Int32 = 3
    /// Who passt runs as when SwiftVMM runs as root: passt will not keep root, and by
    /// itself looks up the user `nobody`, which a minimal system (an initramfs, a
    /// container) may not have; then it exits and the link goes down. 65534 is nobody's
    /// and nogroup's number on Debian and most distributions.
    static let unprivilegedUser = "65534:65534"

    let sockets: UnixSocketPair
    /// passt itself; nil for a backend over a socket pair whose other end is a test's.
    let process: ChildProcess?
    var passesHeader: Bool { false }
    var fd: Int32 { sockets.local }

    /// Bytes read from passt not yet handed over: [start, end) of `incoming`.
    private var incoming = [UInt8](repeating: 0, count: 2 * (PasstBackend.lengthSize + VirtioNet.maximumFrame))
    private var start = 0, end = 0
    /// A frame partly written: the rest of it.
    private var outgoing: [UInt8] = []

    /// A backend speaking the stream protocol over `sockets`' local end, to `process`.
    init(sockets: UnixSocketPair, process: ChildProcess?) {
        self.sockets = sockets
        self.process = process
    }

    /// Starts passt (`path`) on a new socket pair, with `forwards`.
    static func start(path: String, forwards: [NetworkConfiguration.PortForward]) throws(NetworkError) -> PasstBackend {
        guard let sockets = UnixSocketPair() else {
            throw .cannotCreateSocketPair(flag: Self.flag, .current)
        }
        var arguments = [path, "--fd", String(Self.childDescriptor), "--foreground", "--quiet"]
        if geteuid() == 0 { arguments += ["--runas", Self.unprivilegedUser] }
        for forward in forwards {
            arguments += [forward.proto == .tcp ? "--tcp-ports" : "--udp-ports", "\(forward.hostPort):\(forward.guestPort)"]
        }
        let process: ChildProcess
        do {
            process = try ChildProcess(path: path, arguments: arguments, passing: sockets.remote, as: Self.childDescriptor)
        } catch {
            throw .cannotStartPasst(flag: Self.flag, path: path, error.errno)
        }
        sockets.closeRemote()
        return PasstBackend(sockets: sockets, process: process)
    }

    deinit { process?.terminate() }

    /// Stops passt (the machine is stopping).
    func stop() { process?.terminate() }

    func receive(into buffer: inout [UInt8], at offset: Int) -> NetReceiveResult {
        while true {
            if end - start >= Self.lengthSize {
                let length = (start..<start + Self.lengthSize).reduce(0) { $0 << 8 | Int(incoming[$1]) }
                guard length <= VirtioNet.maximumFrame, length <= buffer.count - offset else {
                    return .failed("passt: a frame of \(length) bytes, more than \(VirtioNet.maximumFrame)")
                }
                if end - start >= Self.lengthSize + length {
                    let first = start + Self.lengthSize
                    buffer.replaceSubrange(offset..<offset + length, with: incoming[first..<first + length])
                    start = first + length
                    if start == end { start = 0; end = 0 }
                    return .frame(length)
                }
            }
            if start > 0 && end == incoming.count {
                // Room for the rest of the frame: move what is left to the front.
                incoming.replaceSubrange(0..<end - start, with: incoming[start..<end])
                end -= start
                start = 0
            }
            switch HostIO.read(sockets.local, into: &incoming, at: end) {
            case .done(let count): end += count
            case .wouldBlock: return .empty
            case .closed: return .failed("passt closed the connection")
            case .failed(let error): return .failed("passt: read failed: \(error)")
            }
        }
    }

    func send(_ frame: ArraySlice<UInt8>) -> NetSendResult {
        if outgoing.isEmpty {
            let length = UInt32(frame.count)
            outgoing = [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                        UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + frame
        }
        // Either a new frame, or the rest of the one offered again after `.busy`.
        switch HostIO.write(sockets.local, outgoing[...], socket: true) {
        case .done(let count):
            outgoing.removeFirst(count)
            return outgoing.isEmpty ? .sent : .busy
        case .wouldBlock: return .busy
        case .closed: return .failed("passt closed the connection")
        case .failed(let error): return .failed("passt: write failed: \(error)")
        }
    }

    /// Where passt is, or the message to give when it is not installed.
    static func locate() throws(NetworkError) -> String {
        guard let path = ChildProcess.find("passt") else {
            throw .passtMissing(flag: Self.flag)
        }
        return path
    }
}
