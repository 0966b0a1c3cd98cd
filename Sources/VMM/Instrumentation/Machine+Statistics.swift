extension Machine {
    /// Gathers the vCPUs', disks' and console's counts once the machine has stopped
    /// (`stoppedAt`), with times relative to `Instrumentation.origin`.
    func statistics(stoppedAt: UInt64) -> MachineStatistics {
        let origin = instrumentation.origin
        func sinceOrigin(_ time: UInt64?) -> UInt64? { time.map { $0 >= origin ? $0 - origin : 0 } }
        var tallies = ExitTallies()
        for tally in monitors.flatMap(\.tallies) {
            tallies.add(tally.reason, device: tally.device, count: tally.count, nanoseconds: tally.handlingNanoseconds)
        }
        let exits = tallies.all.sorted {
            $0.reason != $1.reason ? $0.reason < $1.reason : ($0.device ?? "") < ($1.device ?? "")
        }
        let timeline = BootTimeline(
            vmReady: sinceOrigin(builtAt),
            firstGuestEntry: sinceOrigin(monitors.compactMap(\.firstEntry).min()),
            firstConsoleByte: sinceOrigin(consoleWatch?.firstByteTime),
            readyMarker: sinceOrigin(consoleWatch?.readyMarkerTime),
            exit: sinceOrigin(stoppedAt))
        return MachineStatistics(
            exits: exits,
            vcpus: monitors.map(\.time),
            disks: disks.compactMap { disk in disk.monitor?.tally(device: disk.name) },
            timeline: timeline)
    }
}
