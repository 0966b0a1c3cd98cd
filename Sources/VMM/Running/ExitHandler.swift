import Devices
import KVM
import Synchronization

/// Access to the data of the exit being handled: the value an OUT wrote, and where an
/// IN's or an MMIO read's answer goes. A `VCPU` provides it; tests provide a fake.
public protocol ExitData {
    /// The value item `item` of an OUT wrote (api.rst 5, KVM_EXIT_IO: the data at
    /// `data_offset`, `size` bytes per item).
    func portIOValue(item: Int) -> UInt64
    /// Stores what item `item` of an IN reads; KVM hands it to the guest on the next KVM_RUN.
    func setPortIOValue(_ value: UInt64, item: Int)
    /// Stores what an MMIO read returns (`kvm_run.mmio.data`), for the next KVM_RUN.
    func setMMIOValue(_ value: UInt64)
}

extension VCPU: ExitData {}

/// Turns a vCPU exit into what happens next: the one place where exits meet devices. A
/// plain function of the exit and the buses, testable without KVM (as Firecracker's
/// `handle_kvm_exit`). An exit passes through three types: the `VCPUExit` KVM_RUN
/// decoded, the `DeviceEffect` of a device it reached, and the `StopReason` it ends the
/// machine for, if any. Reasons that need the vCPU's registers (a triple fault's RIP) are
/// filled in by the caller.
public struct ExitHandler: Sendable {
    public let portBus: IOBus
    public let mmioBus: IOBus
    public let counters: ExitCounters

    /// A handler dispatching port I/O exits to `portBus` and MMIO exits to `mmioBus`,
    /// counting accesses neither answers in `counters`.
    public init(portBus: IOBus, mmioBus: IOBus, counters: ExitCounters = ExitCounters()) {
        self.portBus = portBus
        self.mmioBus = mmioBus
        self.counters = counters
    }

    /// Handles `exit` of vCPU `vcpu`: returns why the machine must stop, or nil for the
    /// vCPU to enter the guest again.
    public func handle(_ exit: VCPUExit, vcpu: Int, data: some ExitData) -> StopReason? {
        switch exit {
        case .portIO(let io):
            return handlePortIO(io, data: data)
        case .mmio(let access):
            return handleMMIO(access, data: data)
        case .interrupted:
            // A signal or immediate_exit: the machine may be stopping, which the vCPU's
            // loop asks before it enters the guest again.
            return nil
        case .halt:
            // Only without an in-kernel local APIC; ours has one, so HLT never leaves KVM.
            return nil
        case .shutdown:
            return .tripleFault(vcpu: vcpu, rip: nil)
        case .internalError(let error):
            return .internalError(vcpu: vcpu, rip: nil, error: error)
        case .failedEntry(let reason):
            return .failedEntry(vcpu: vcpu, rip: nil, hardwareReason: reason)
        case .systemEvent(let type):
            // api.rst 5, KVM_EXIT_SYSTEM_EVENT: _SHUTDOWN is a power-off; _RESET, _CRASH
            // and the rest end the run as a reset does.
            return type == VCPUExit.shutdownEvent ? .powerOff : .reset
        case .other(let reason):
            return .unexpectedExit(vcpu: vcpu, reason: reason)
        }
    }

    private func handlePortIO(_ io: VCPUExit.PortIO, data: some ExitData) -> StopReason? {
        let port = UInt64(io.port)
        for item in 0..<io.count {
            switch io.direction {
            case .out:
                guard let effect = portBus.write(at: port, size: io.size, value: data.portIOValue(item: item)) else {
                    counters.recordUnknownPort(io.port)
                    continue
                }
                if let reason = Self.stopReason(for: effect) { return reason }
            case .in:
                let value = portBus.read(at: port, size: io.size)
                if value == nil { counters.recordUnknownPort(io.port) }
                // Absent hardware floats the data bus high: reads return all ones.
                data.setPortIOValue(value ?? AbsentDevice.floatingBus(size: io.size), item: item)
            }
        }
        return nil
    }

    private func handleMMIO(_ access: VCPUExit.MMIOAccess, data: some ExitData) -> StopReason? {
        if access.isWrite {
            guard let effect = mmioBus.write(at: access.address, size: access.size, value: access.value) else {
                counters.recordUnknownMMIO()
                return nil
            }
            return Self.stopReason(for: effect)
        } else {
            let value = mmioBus.read(at: access.address, size: access.size)
            if value == nil { counters.recordUnknownMMIO() }
            data.setMMIOValue(value ?? AbsentDevice.floatingBus(size: access.size))
        }
        return nil
    }

    static func stopReason(for effect: DeviceEffect) -> StopReason? {
        switch effect {
        case .none: return nil
        case .reset: return .reset
        case .powerOff: return .powerOff
        case .debugExit(let value): return .debugExit(value: value)
        }
    }
}

/// Counts of accesses no device answered: not fatal, but worth reporting.
public final class ExitCounters: Sendable {
    private let unknownPorts = Atomic<Int>(0)
    private let unknownMMIO = Atomic<Int>(0)
    /// The first unknown port seen, for the report (or -1).
    private let firstUnknownPort = Atomic<Int>(-1)

    /// Counters at zero.
    public init() {}

    func recordUnknownPort(_ port: UInt16) {
        unknownPorts.wrappingAdd(1, ordering: .relaxed)
        _ = firstUnknownPort.compareExchange(expected: -1, desired: Int(port), ordering: .relaxed)
    }

    func recordUnknownMMIO() { unknownMMIO.wrappingAdd(1, ordering: .relaxed) }

    public var unknownPortAccesses: Int { unknownPorts.load(ordering: .relaxed) }
    public var unknownMMIOAccesses: Int { unknownMMIO.load(ordering: .relaxed) }
    public var firstUnknownPortNumber: UInt16? {
        let port = firstUnknownPort.load(ordering: .relaxed)
        return port < 0 ? nil : UInt16(port)
    }
}
