/// What `--stats` reports when the machine stops: exits by reason and device, where the
/// vCPUs spent their time, what each disk moved, and the boot timeline. Times are in
/// nanoseconds of `MonotonicClock`.
public struct MachineStatistics: Sendable, Equatable {
    /// Exits of one reason that reached one device.
    public struct ExitTally: Sendable, Equatable {
        /// Why the vCPU exited, as traces name it (`VCPUExit.name`: "io-out", ...).
        public let reason: String
        /// The device that handled it; nil for exits that reach no device (`interrupted`,
        /// ...), "unhandled" for an access where no device answers.
        public let device: String?
        /// How many such exits.
        public var count: Int
        /// Time from KVM_RUN's return to the end of their handling, added up.
        public var handlingNanoseconds: UInt64

        /// A tally of `count` exits of `reason` at `device` that took `handlingNanoseconds`.
        public init(reason: String, device: String?, count: Int, handlingNanoseconds: UInt64) {
            self.reason = reason
            self.device = device
            self.count = count
            self.handlingNanoseconds = handlingNanoseconds
        }

        /// The mean handling time of one exit.
        public var meanNanoseconds: UInt64 { MachineStatistics.mean(handlingNanoseconds, over: count) }
    }

    /// The mean of `nanoseconds` spent on `count` exits; 0 for none.
    public static func mean(_ nanoseconds: UInt64, over count: Int) -> UInt64 {
        count == 0 ? 0 : nanoseconds / UInt64(count)
    }

    /// Where one vCPU thread's time went, from its first KVM_RUN to the end of its loop.
    public struct VCPUTime: Sendable, Equatable {
        /// The vCPU's index.
        public let vcpu: Int
        /// Exits handled.
        public let exits: Int
        /// Inside KVM_RUN: the guest running, or KVM working for it (its instruction
        /// emulator, its in-kernel devices), or the vCPU waiting for an interrupt there.
        public let inKVMRun: UInt64
        /// In SwiftVMM between KVM_RUNs: handling exits, and the loop around them.
        public let inVMM: UInt64

        /// The time of vCPU `vcpu`, which handled `exits` exits.
        public init(vcpu: Int, exits: Int, inKVMRun: UInt64, inVMM: UInt64) {
            self.vcpu = vcpu
            self.exits = exits
            self.inKVMRun = inKVMRun
            self.inVMM = inVMM
        }
    }

    /// What one disk's guest read and wrote.
    public struct DiskTally: Sendable, Equatable {
        /// The device's name ("virtio-blk-pci0").
        public let device: String
        /// The image file, as the user named it.
        public let path: String
        /// Requests executed (5.2.6), whatever their type and status.
        public let requests: Int
        /// Bytes read from the disk into the guest (VIRTIO_BLK_T_IN).
        public let bytesRead: UInt64
        /// Bytes written from the guest to the disk (VIRTIO_BLK_T_OUT).
        public let bytesWritten: UInt64

        /// The counts of disk `device`, backed by `path`.
        public init(device: String, path: String, requests: Int, bytesRead: UInt64, bytesWritten: UInt64) {
            self.device = device
            self.path = path
            self.requests = requests
            self.bytesRead = bytesRead
            self.bytesWritten = bytesWritten
        }
    }

    /// Exit counts by reason and device, ordered by reason, then device.
    public let exits: [ExitTally]
    /// One entry per vCPU, in index order.
    public let vcpus: [VCPUTime]
    /// One entry per disk: the virtio-pci disks, then the virtio-mmio ones, each in
    /// `--disk` order.
    public let disks: [DiskTally]
    /// When the boot's milestones happened.
    public let timeline: BootTimeline

    /// Statistics with the given parts.
    public init(exits: [ExitTally], vcpus: [VCPUTime], disks: [DiskTally], timeline: BootTimeline) {
        self.exits = exits
        self.vcpus = vcpus
        self.disks = disks
        self.timeline = timeline
    }

    /// The tallies added up by reason, the most frequent first.
    public var exitsByReason: [ExitTally] {
        var merged = ExitTallies()
        for tally in exits {
            merged.add(tally.reason, device: nil, count: tally.count, nanoseconds: tally.handlingNanoseconds)
        }
        return merged.all.sorted { $0.count != $1.count ? $0.count > $1.count : $0.reason < $1.reason }
    }

    /// The tallies of exits that reached the device bus, added up by device, busiest first.
    public var exitsByDevice: [(device: String, count: Int, handlingNanoseconds: UInt64)] {
        var totals: [String: (count: Int, nanoseconds: UInt64)] = [:]
        for tally in exits {
            guard let device = tally.device else { continue }
            totals[device, default: (0, 0)].count += tally.count
            totals[device, default: (0, 0)].nanoseconds += tally.handlingNanoseconds
        }
        return totals.map { (device: $0.key, count: $0.value.count, handlingNanoseconds: $0.value.nanoseconds) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.device < $1.device }
    }

    /// The number of exits of `reason` that reached `device`.
    public func count(_ reason: String, device: String?) -> Int {
        exits.first { $0.reason == reason && $0.device == device }?.count ?? 0
    }

}

/// The milestones of a run, in nanoseconds since the process started (`origin`); nil for
/// those that did not happen.
public struct BootTimeline: Sendable, Equatable {
    /// The machine was built: guest RAM loaded, devices placed, vCPUs created.
    public var vmReady: UInt64?
    /// The first KVM_RUN began: the first guest instruction is about to run.
    public var firstGuestEntry: UInt64?
    /// The guest's serial port sent its first byte.
    public var firstConsoleByte: UInt64?
    /// The `--ready-marker` string appeared on the console.
    public var readyMarker: UInt64?
    /// The machine had stopped: every vCPU out of KVM_RUN, every device flushed.
    public var exit: UInt64?

    /// A timeline with every milestone given.
    public init(
        vmReady: UInt64? = nil, firstGuestEntry: UInt64? = nil, firstConsoleByte: UInt64? = nil,
        readyMarker: UInt64? = nil, exit: UInt64? = nil
    ) {
        self.vmReady = vmReady
        self.firstGuestEntry = firstGuestEntry
        self.firstConsoleByte = firstConsoleByte
        self.readyMarker = readyMarker
        self.exit = exit
    }

    /// The milestones in order, with the names reports give them; the process start is
    /// the origin, 0.
    public var milestones: [(name: String, nanoseconds: UInt64?)] {
        [("process start", 0), ("VM ready", vmReady), ("first guest instruction", firstGuestEntry),
         ("first console byte", firstConsoleByte), ("ready marker", readyMarker), ("exit", exit)]
    }
}
