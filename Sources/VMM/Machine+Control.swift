import Devices
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// What a controller does to a running machine besides stopping it: pause and resume
/// it (Firecracker's `PATCH /vm`), and press Ctrl-Alt-Del on its keyboard
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

    /// Pauses the machine: every vCPU leaves KVM_RUN and waits outside the guest, and
    /// the devices that serve the guest on threads of their own finish what they were
    /// doing (with every vCPU out, the guest can ask nothing new of them). Returns once
    /// that is so. Safe before `run()` has started the vCPUs: each then parks at its
    /// first KVM_RUN, which `immediate_exit` makes return at once.
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
        for disk in disks { disk.waitUntilIdle() }
        vsock?.quiesce()
    }

    /// Resumes a paused machine: the devices go on, then every vCPU re-enters the guest.
    public func resume() {
        vsock?.resume()
        // The kick that paused each vCPU left `immediate_exit` set: clear it before the
        // vCPUs go back, or their next KVM_RUN returns at once.
        for thread in threads { thread.vcpu.requestImmediateExit(false) }
        pauseGate.open()
        // A stop that came while immediate_exit was being cleared must not be lost: kick
        // again, so every vCPU sees it.
        if !lifecycle.isRunning && lifecycle.current != .created {
            for thread in threads { thread.kick() }
        }
    }

    /// Presses and releases Ctrl, Alt and Delete on the i8042's keyboard port, and raises
    /// the keyboard interrupt (IRQ 1), as a keyboard would. A guest that watches for the
    /// combination (Linux's keyboard driver calls `ctrl_alt_del()`, which with
    /// `reboot=k` resets the machine) reacts; one that does not ignores the bytes.
    public func sendCtrlAltDel() {
        guard let keyboard = handler.portBus.slot(at: LegacyPorts.i8042Data.base, as: I8042.self) else { return }
        if keyboard.withLock({ $0.typeKeys([.leftControl, .leftAlt, .delete]) }) {
            KVMInterruptLine(vm: vm, irq: LegacyPorts.keyboardIRQ).pulse()
        }
    }
}
