/// One `--disk`: a raw image file and how the guest sees it.
public struct DiskConfiguration: Sendable, Equatable {
    /// How the disk reaches the guest.
    public typealias Transport = VirtioTransport
    /// Where the disk's requests are served.
    public typealias IOMode = VirtioIOMode

    /// Served on the vCPU thread: on the project's machines (2 cores, guests emulated) it
    /// is as fast or faster than the I/O thread for one request at a time, as
    /// figure 4 of scripts/bench.sh measures; the I/O thread is there for hosts where it wins.
    public static let defaultIOMode = IOMode.vcpu

    public var path: String
    public var readOnly: Bool
    public var transport: Transport
    public var io: IOMode

    /// A disk backed by the image at `path`, as `--disk PATH,readonly=...,transport=...,io=...` asks.
    public init(path: String, readOnly: Bool = false, transport: Transport = .pci, io: IOMode = DiskConfiguration.defaultIOMode) {
        self.path = path
        self.readOnly = readOnly
        self.transport = transport
        self.io = io
    }
}
