import Dispatch
import HostIO
import KVM
import Locking
import Synchronization
import Virtio
#if canImport(Glibc)
import Glibc
#endif

extension UnixSocket: VsockStream {}

/// The machine's virtio-vsock device and its host side: the Unix socket at `udsPath`
/// (mode 0600) and a thread of its own that accepts host programs, reads their
/// `CONNECT PORT\n`, carries bytes between their sockets and the device's `VsockMuxer`,
/// and has the device's rx queue served when the muxer holds packets for the guest.
///
/// The device is served on an I/O thread of its own (`VirtioIOMode.thread`), the
/// `VirtioService` that `VirtioDevices.install` made for it: the guest's tx packets are
/// taken there, off the vCPU threads, and so are its rx buffers, which this thread wakes
/// it for (`VirtioService.kick`). Host sockets are read only as far as the guest has
/// room (its credit), so a fast host program cannot make SwiftVMM buffer without bound;
/// every socket is non-blocking, connecting to one included.
final class VsockService: Sendable {
    /// A host program that connected and has not finished its CONNECT line.
    private final class Handshake: Sendable {
        let socket: UnixSocket
        let line = Locked<[UInt8]>([])
        let started = MonotonicClock.now()
        init(socket: UnixSocket) { self.socket = socket }
    }

    /// The longest CONNECT line taken ("CONNECT 4294967295\n" is 19 bytes).
    static let maximumLine = 32
    /// How long a host program has to send its CONNECT line.
    static let handshakeNanoseconds: UInt64 = 5_000_000_000
    /// The device's name, for messages and traces.
    static let deviceName = "virtio-vsock"
    /// Where the device goes: virtio-pci, the transport every kernel with
    /// CONFIG_VIRTIO_VSOCKETS finds, after the disks (`Machine.build`).
    static let transport = VirtioTransport.pci

    let configuration: VsockConfiguration
    let muxer: VsockMuxer
    private let listener: UnixSocket
    private let wakeUp: EventFD
    private let running = Atomic<Bool>(true)
    private let queue = DispatchQueue(label: "swiftvmm.vsock")
    private let finished = DispatchGroup()
    /// The device's I/O service, once it is on its bus (`installed(_:faults:)`).
    private let service = Locked<VirtioService?>(nil)
    /// Where a failure to wake the thread is reported, from the same moment.
    private let faults = Locked<HostFaults?>(nil)

    /// Binds the socket at `configuration.udsPath`; a path that exists or cannot be bound
    /// is the user's input, reported before anything else is built.
    init(_ configuration: VsockConfiguration) throws(MachineError) {
        self.configuration = configuration
        do {
            listener = try UnixSocket.listen(at: configuration.udsPath)
        } catch {
            throw .file(HostFileError(role: "vsock uds_path", path: configuration.udsPath, .cannotListen(error)))
        }
        listener.setNonBlocking()
        do { wakeUp = try EventFD() } catch { throw .host(error) }
        let path = configuration.udsPath, wake = wakeUp, faults = self.faults
        muxer = VsockMuxer(
            guestCID: UInt64(configuration.guestCID),
            connectToHost: { port in
                // Non-blocking from the start: a listener that never accepts makes the
                // connection fail (the guest is reset), and holds up no thread.
                try? UnixSocket.connect(to: "\(path)_\(port)", waiting: false)
            },
            wake: {
                do {
                    try wake.signal()
                } catch {
                    faults.withLock { $0 }?.warnOnce("vsock wake", "vsock: cannot wake its thread: \(error)")
                }
            })
    }

    /// Whether the device has a place after `disks` on its transport.
    static func checkRoom(beside disks: [DiskConfiguration]) throws(ConfigurationError) {
        let pciDisks = disks.filter { $0.transport == .pci }.count
        guard pciDisks < VirtioPlacement.pciLimit else {
            throw .noPCISlotForVsock(disks: pciDisks, limit: VirtioPlacement.pciLimit)
        }
    }

    /// The device for `VirtioDevices.install`, at `place`, served on its own I/O thread.
    func installation(at place: VirtioPlacement.Place) -> VirtioDevices.Installation {
        .init(device: VirtioVsock(name: Self.deviceName, muxer: muxer), place: place, io: .thread)
    }

    /// The device is on its bus: `service` serves its queues, and `faults` hears of the
    /// host calls that fail.
    func installed(_ service: VirtioService, faults: HostFaults) {
        self.service.withLock { $0 = service }
        self.faults.withLock { $0 = faults }
    }

    /// Starts the thread (the machine starts running).
    func start() {
        finished.enter()
        queue.async { [self] in
            loop()
            finished.leave()
        }
    }

    /// Called once every vCPU has left KVM_RUN: stops the thread, if it was started, then
    /// the device's I/O thread, and removes the socket file.
    func stop() {
        running.store(false, ordering: .releasing)
        do { try wakeUp.signal() } catch {}  // the thread also looks every second
        finished.wait()
        service.withLock { $0 }?.stop()
        removeSocketFile()
    }

    private let socketFileRemoved = Atomic<Bool>(false)

    private func removeSocketFile() {
        if !socketFileRemoved.exchange(true, ordering: .acquiringAndReleasing) { unlink(configuration.udsPath) }
    }

    /// A machine that failed to build after binding the socket leaves no file behind.
    deinit { removeSocketFile() }

    // MARK: Pausing

    /// No packet reaches the guest until `resume()`; returns once none is on its way (the
    /// I/O thread has finished the round it may be in).
    func pause() {
        muxer.holdPacketsForGuest(true)
        service.withLock { $0 }?.waitUntilIdle()
    }

    /// Packets go to the guest again.
    func resume() {
        muxer.holdPacketsForGuest(false)
    }

    // MARK: The thread

    private func loop() {
        var handshakes: [Handshake] = []
        while running.load(ordering: .acquiring) {
            let interest = muxer.hostInterest()
            var fds: [(fd: Int32, wantsWrite: Bool)] = [(wakeUp.rawValue, false), (listener.fd, false)]
            fds += handshakes.map { ($0.socket.fd, false) }
            // A connection with no read budget is polled for writing only (or not at all):
            // its bytes wait in the socket until the guest has room.
            let watched = interest.filter { $0.readBudget > 0 || $0.wantsWrite }
            fds += watched.map { (($0.stream as! UnixSocket).fd, $0.wantsWrite) }
            let ready = HostIO.readiness(of: fds.map { ($0.fd, $0.wantsWrite) }, timeoutMilliseconds: 1000)
            if ready[0].readable { wakeUp.drain() }
            // Entries 0 and 1 are the wake-up and the listener; the handshakes follow.
            let polled = handshakes
            handshakes = polled.enumerated().compactMap { index, handshake in
                let finishedNow = ready[2 + index].readable ? readHandshake(handshake) : false
                let expired = MonotonicClock.now() - handshake.started > Self.handshakeNanoseconds
                return finishedNow || expired ? nil : handshake
            }
            if ready[1].readable { acceptAll(into: &handshakes) }
            // The connections' entries come last.
            for (offset, entry) in watched.enumerated() {
                let state = ready[ready.count - watched.count + offset]
                if state.writable && entry.wantsWrite { muxer.hostWritable(entry.stream) }
                if state.readable && entry.readBudget > 0 { read(entry.stream as! UnixSocket, budget: entry.readBudget) }
            }
            deliverPackets()
        }
    }

    private func acceptAll(into handshakes: inout [Handshake]) {
        while handshakes.count < 64, let socket = listener.accept() {
            socket.setNonBlocking()
            handshakes.append(Handshake(socket: socket))
        }
    }

    /// Reads what there is of a CONNECT line; true once the handshake is over (the line
    /// was whole and the guest has been asked, or it was wrong and the socket closed).
    private func readHandshake(_ handshake: Handshake) -> Bool {
        guard case .bytes(let bytes) = handshake.socket.receive(upTo: Self.maximumLine) else { return true }
        let line = handshake.line.withLock { $0 += bytes; return $0 }
        guard let end = line.firstIndex(of: UInt8(ascii: "\n")) else { return line.count >= Self.maximumLine }
        let text = String(decoding: line[..<end], as: UTF8.self)
        let words = text.split(separator: " ")
        guard words.count == 2, words[0] == "CONNECT", let port = UInt32(words[1]) else { return true }
        // Past the connection limit the program is turned away: its socket closes.
        _ = muxer.hostConnected(handshake.socket, port: port, early: Array(line[(end + 1)...]))
        return true
    }

    private func read(_ socket: UnixSocket, budget: Int) {
        switch socket.receive(upTo: min(budget, VirtioVsock.maximumPayload)) {
        case .bytes(let bytes): muxer.hostSent(bytes, on: socket)
        case .endOfFile, .failed: muxer.hostClosed(socket)
        case .nothingYet: break
        }
    }

    /// Has the rx queue served on the device's I/O thread while packets wait for the guest.
    private func deliverPackets() {
        guard muxer.hasPacketForGuest else { return }
        service.withLock { $0 }?.kick(queue: VirtioVsock.rxQueue)
    }
}
