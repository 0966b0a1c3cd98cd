import KVM
import Locking

/// Watches one vCPU's exits for `--trace` and `--stats`: times KVM_RUN and the handling
/// of each exit, counts exits by reason and device, and writes trace lines.
///
/// A machine has one per vCPU only when tracing or statistics are on; otherwise the run
/// loop never reaches this type (`Machine.live`). Its counters are the vCPU's own: the
/// lock around them is taken by that vCPU's thread alone until the machine stops and
/// reads them, so it is never contended and no cache line moves between vCPUs.
final class VCPUMonitor: Sendable {
    /// What the monitor accumulates; `line` is scratch space for trace lines.
    struct State {
        var tallies = ExitTallies()
        var exits = 0
        var inKVMRun: UInt64 = 0
        var firstEntry: UInt64?
        var loopStart: UInt64?
        var loopEnd: UInt64?
        var line = TraceLine()
    }

    /// The device name for an access no device answered.
    static let unhandled = "unhandled"

    let vcpu: Int
    private let tracer: Tracer?
    private let countsExits: Bool
    private let state = Locked(State())

    /// A monitor for vCPU `vcpu` that traces to `tracer` (if it shows exits) and counts
    /// exits if `countsExits`.
    init(vcpu: Int, tracer: Tracer?, countsExits: Bool) {
        self.vcpu = vcpu
        self.tracer = tracer?.categories.tracesExits == true ? tracer : nil
        self.countsExits = countsExits
    }

    // MARK: The vCPU thread

    /// The vCPU loop begins.
    func loopStarted() {
        let now = MonotonicClock.now()
        state.withLock { $0.loopStart = now }
    }

    /// The vCPU loop ended.
    func loopEnded() {
        let now = MonotonicClock.now()
        state.withLock { $0.loopEnd = now }
    }

    /// One turn of the run loop, watched: KVM_RUN, then `handler` decides what the exit
    /// means, then the exit is counted and traced.
    func step(_ vcpu: VCPU, handler: ExitHandler) throws(KVMError) -> StopReason? {
        let entered = MonotonicClock.now()
        let exit = try vcpu.run()
        let exited = MonotonicClock.now()
        let device = handler.deviceName(for: exit)
        // A read's line waits for the answer; any other exit's line comes before what
        // handling it causes (a virtio request's lines, say), so the trace reads in order.
        if !exit.isRead { trace(exit, device: device, at: exited) { Self.data(of: exit, item: $0, in: vcpu) } }
        // The handling time is the handler's alone, without the tracing around it.
        let handling = MonotonicClock.now()
        let stopReason = handler.handle(exit, vcpu: self.vcpu, data: vcpu)
        let handled = MonotonicClock.now()
        count(exit, device: device, entered: entered, exited: exited, handling: handled - handling)
        if exit.isRead { trace(exit, device: device, at: exited) { Self.data(of: exit, item: $0, in: vcpu) } }
        return stopReason
    }

    /// The data of item `item` of `exit`, as `vcpu`'s `kvm_run` holds it now.
    private static func data(of exit: VCPUExit, item: Int, in vcpu: VCPU) -> UInt64 {
        if case .mmio = exit { return vcpu.mmioValue() }
        return vcpu.portIOValue(item: item)
    }

    /// Counts `exit`, which KVM_RUN returned at `exited` after entering the guest at
    /// `entered`, and which `device` took `handling` nanoseconds to handle.
    func count(_ exit: VCPUExit, device: String?, entered: UInt64, exited: UInt64, handling: UInt64) {
        let device = Self.deviceName(device, exit)
        state.withLock { state in
            if state.firstEntry == nil { state.firstEntry = entered }
            state.exits += 1
            state.inKVMRun += exited - entered
            if countsExits { state.tallies.add(exit.name, device: device, count: 1, nanoseconds: handling) }
        }
    }

    /// Writes the trace line of `exit`, which `device` handles, stamped `exited`;
    /// `value(item)` is the data of item `item`: written by an OUT or MMIO write, or the
    /// answer given to an IN or MMIO read.
    func trace(_ exit: VCPUExit, device: String?, at exited: UInt64, value: (Int) -> UInt64) {
        guard let tracer else { return }
        let device = Self.deviceName(device, exit)
        state.withLock { state in
            tracer.trace(exit, vcpu: vcpu, at: exited, device: device, value: value, line: &state.line)
        }
    }

    /// An access no device answered is "unhandled"; an exit that is no access has none.
    private static func deviceName(_ device: String?, _ exit: VCPUExit) -> String? {
        exit.isAccess ? device ?? unhandled : nil
    }

    // MARK: Once the vCPU has stopped

    /// The vCPU's exit tallies.
    var tallies: [MachineStatistics.ExitTally] { state.withLock { $0.tallies.all } }

    /// When the vCPU first entered the guest.
    var firstEntry: UInt64? { state.withLock { $0.firstEntry } }

    /// Where the vCPU thread's time went.
    var time: MachineStatistics.VCPUTime {
        state.withLock { state in
            let start = state.firstEntry ?? state.loopStart ?? 0
            let total = (state.loopEnd ?? start) >= start ? (state.loopEnd ?? start) - start : 0
            return MachineStatistics.VCPUTime(
                vcpu: vcpu, exits: state.exits, inKVMRun: state.inKVMRun,
                inVMM: total >= state.inKVMRun ? total - state.inKVMRun : 0)
        }
    }
}
