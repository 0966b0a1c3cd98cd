import Devices
#if canImport(Glibc)
import Glibc
#endif

/// What a controller does to a running machine besides stopping it: pause and resume
/// it (Firecracker's `PATCH /vm`), and press Ctrl-Alt-Delete on its keyboard
/// (`SendCtrlAltDel`).
extension Machine {
    /// Why a pause did not happen.
    public enum ControlError: Error, Equatable, CustomStringConvertible {
        /// The machine is stopping or stopped: there is nothing to pause.
        case notRunning
        /// Not every vCPU left the guest within the time allowed.
        case vcpusDidNotStop(parked: Int, of: Int)

        public var description: String {
            switch self {
            case .notRunning: return "the machine is not running"
            case .vcpusDidNotStop(let parked, let total): return "only \(parked) of \(total) vCPUs left the guest in time"
            }
        }
    }

    /// How long `pause()` waits for every vCPU to leave the guest.
    static let pauseTimeoutNanoseconds: UInt64 = 2_000_000_000

    /// Whether the machine is paused.
    public var isPaused: Bool { pauseGate.isClosed }

    /// Pauses the machine: every vCPU leaves KVM_RUN and waits outside the guest
    /// (`PauseGate`), vsock holds its packets for the guest, and the devices served on
    /// I/O threads of their own finish the round they may be in (with every vCPU out, the
    /// guest can ask nothing new of them). Returns once that is so. Safe before `run()`
    /// has started the vCPUs: each then parks at its first KVM_RUN, which `immediate_exit`
    /// makes return at once.
    public func pause() throws(ControlError) {
        guard lifecycle.current == .running || lifecycle.current == .created else { throw .notRunning }
        pauseGate.close()
        for thread in threads { thread.kick() }
        let deadline = MonotonicClock.now() + Self.pauseTimeoutNanoseconds
        while pauseGate.parkedCount < threads.count {
            guard lifecycle.isRunning || lifecycle.current == .created else { throw .notRunning }
            guard MonotonicClock.now() < deadline else {
                throw .vcpusDidNotStop(parked: pauseGate.parkedCount, of: threads.count)
            }
            usleep(100)
        }
        vsock?.pause()
        for disk in disks { disk.service.waitUntilIdle() }
        for service in peripherals { service.waitUntilIdle() }
    }

    /// Resumes a paused machine: vsock's packets go on, then every vCPU re-enters the
    /// guest (each clears its own `immediate_exit` as it leaves the gate).
    public func resume() {
        vsock?.resume()
        pauseGate.open()
    }

    /// Presses Ctrl, Alt and Delete on the i8042's keyboard and releases them, as a
    /// keyboard would: their scan codes reach the guest a byte per keyboard interrupt
    /// (IRQ 1). A guest that watches for the combination reacts (Linux's keyboard driver
    /// calls `ctrl_alt_del()`, which restarts the machine); one that does not ignores it.
    public func sendCtrlAltDel() {
        keyboardController.withLock { $0.press([.leftControl, .leftAlt, .delete]) }
    }
}
