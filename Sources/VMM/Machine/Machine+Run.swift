import Dispatch
import KVM

/// Running a built machine: a work item per vCPU, which is the vCPU's whole life, and
/// the stop that ends them all.
extension Machine {
    /// Runs the machine until it stops, and reports why. Blocks the calling thread;
    /// returns only after every vCPU has left KVM_RUN and every device has flushed. The
    /// first stop, from any vCPU or any other thread, stops every vCPU.
    public func run() -> MachineReport {
        VCPUThread.installKickHandler()
        lifecycle.start()
        vsock?.start()
        consoleWatch?.whenExpectedOutputAppears { [weak self] in self?.stop(.expectedOutput) }
        let timer = instrumentation.timeout.map { seconds in
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "swiftvmm.timeout"))
            timer.schedule(deadline: .now() + seconds)
            timer.setEventHandler { [weak self] in self?.stop(.timedOut) }
            timer.resume()
            return timer
        }
        let lives = DispatchGroup()
        for thread in threads {
            let monitor = monitors.isEmpty ? nil : monitors[thread.vcpu.id]
            // The work items do not keep the machine: this call holds it until every one
            // has ended, so nothing of it is let go of on a worker thread.
            thread.start(group: lives) { [unowned self] vcpu in self.live(vcpu, monitor: monitor) }
        }
        console.startInput(
            into: uart, isRunning: { [lifecycle] in lifecycle.isRunning },
            onCommand: { [weak self] command in if command == .quit { self?.stop(.userQuit) } })
        lives.wait()
        timer?.cancel()
        // The console's last bytes go out before anything else is said.
        console.finishWriting?()
        // Every vCPU is out of KVM_RUN: no guest request can reach a device now.
        let flushFailures = DeviceFlush.runAll(flushes)
        let reason = lifecycle.finishStopping()
        let stoppedAt = MonotonicClock.now()
        // Where a guest that ran out of time was: every vCPU is out of KVM_RUN.
        let positions = reason == .timedOut ? threads.compactMap { VCPUPosition.read($0.vcpu) } : []
        instrumentation.traceWriter?.flush()
        return MachineReport(
            reason: reason,
            flushFailures: flushFailures,
            warnings: faults.warnings,
            unknownPortAccesses: handler.counters.unknownPortAccesses,
            firstUnknownPort: handler.counters.firstUnknownPortNumber,
            unknownMMIOAccesses: handler.counters.unknownMMIOAccesses,
            statistics: instrumentation.collectsStatistics ? statistics(stoppedAt: stoppedAt) : nil,
            lastConsoleLines: consoleWatch?.lastLines ?? [],
            sawExpectedOutput: consoleWatch?.sawExpectedOutput ?? false,
            vcpuPositions: positions)
    }

    /// Stops every vCPU. Safe from any thread (a vCPU, a signal handler's queue, the
    /// console); the first reason given is the one reported.
    public func stop(_ reason: StopReason) {
        guard lifecycle.beginStopping(reason) else { return }
        // A vCPU blocked writing the console (stdout a stalled pipe) must not hold the
        // stop up: the kick interrupts the write, and the output gives up.
        console.stopWaiting?()
        for thread in threads { thread.kick() }
        // vCPUs parked by a pause go on, to see the stop.
        pauseGate.open()
    }

    /// A vCPU's life: KVM_RUN, then the exit handled, until the machine stops.
    ///
    /// With tracing and statistics off there is no `monitor`, and a turn of the loop is
    /// KVM_RUN and `ExitHandler.handle` alone: no clock read, lock or formatting. A
    /// monitor times, counts and traces around the same two calls.
    ///
    /// Stopping sets `immediate_exit` and kicks the vCPU (`VCPUThread.kick`); it comes
    /// out of KVM_RUN with `.interrupted`, which stops nothing, and the loop's test sees
    /// the machine stopping. `immediate_exit` stays set, as no KVM_RUN follows.
    ///
    /// Pausing closes the `PauseGate`, then kicks the same way; after every exit the loop
    /// looks at the gate (an atomic load, as `isRunning` is) and, with it closed, parks
    /// there outside the guest. Leaving the gate, the vCPU clears `immediate_exit`
    /// (`vcpu.requestImmediateExit(false)`) before its next KVM_RUN: a flag left set
    /// would make every KVM_RUN return EINTR at once (api.rst 5, "immediate_exit";
    /// Firecracker clears it on resume). It clears it after the wait, not before, since
    /// the pause's kick may land while it is parked; and it looks at the gate again
    /// after clearing, since a pause that closes the gate meanwhile kicks before or after
    /// the clearing: before, the gate is closed when it looks; after, the flag is set. A
    /// stop opens the gate, and the loop's test sees it.
    private func live(_ vcpu: VCPU, monitor: VCPUMonitor?) {
        let handler = self.handler, lifecycle = self.lifecycle, pauseGate = self.pauseGate
        monitor?.loopStarted()
        defer { monitor?.loopEnded() }
        while lifecycle.isRunning {
            let stopReason: StopReason?
            do {
                if let monitor {
                    stopReason = try monitor.step(vcpu, handler: handler)
                } else {
                    stopReason = handler.handle(try vcpu.run(), vcpu: vcpu.id, data: vcpu)
                }
            } catch {
                stop(.vcpuFailure(vcpu: vcpu.id, error))
                return
            }
            if let stopReason {
                stop(stopReason.withInstructionPointer(of: vcpu))
                return
            }
            while pauseGate.isClosed {
                pauseGate.park()
                vcpu.requestImmediateExit(false)
            }
        }
    }
}

extension StopReason {
    /// Fills in the vCPU's RIP for stops that report where the guest was.
    ///
    /// After a triple fault, KVM on AMD has already put the vCPU through INIT (the VMCB is
    /// undefined after a shutdown intercept: arch/x86/kvm/svm/svm.c,
    /// `shutdown_interception`), so its registers hold the reset state, CS base
    /// 0xffff0000 and RIP 0xfff0, not where the guest faulted: that RIP is left unknown.
    func withInstructionPointer(of vcpu: VCPU) -> StopReason {
        let rip = try? vcpu.getRegisters().rip
        switch self {
        case .tripleFault(let id, nil):
            let reset = rip == Self.resetRIP && (try? vcpu.getSpecialRegisters().cs.base) == Self.resetCSBase
            return .tripleFault(vcpu: id, rip: reset ? nil : rip)
        case .internalError(let id, nil, let error): return .internalError(vcpu: id, rip: rip, error: error)
        case .failedEntry(let id, nil, let reason): return .failedEntry(vcpu: id, rip: rip, hardwareReason: reason)
        default: return self
        }
    }

    /// A vCPU's RIP and CS base after INIT or reset (Intel SDM vol. 3, 10.1.4; AMD APM
    /// vol. 2, 14.1.3): the first instruction is fetched at 0xfffffff0.
    static let resetRIP: UInt64 = 0xfff0
    static let resetCSBase: UInt64 = 0xffff_0000
}
