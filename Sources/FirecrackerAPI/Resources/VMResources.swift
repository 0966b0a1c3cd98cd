import JSON
import VMM

/// Everything configured before InstanceStart: the resources of Firecracker's API, kept
/// as the requests gave them. `--config-file` gives the same document in one piece
/// (Firecracker's `VmmConfig`, which `GET /vm/config` returns).
struct VMResources: Equatable {
    /// The members of the whole document; the ones SwiftVMM has no resource for are
    /// named so a message can say so.
    static let fields = [
        "boot-source", "machine-config", "drives", "network-interfaces", "vsock", "entropy", "logger", "metrics",
        "balloon", "cpu-config", "mmds-config", "serial", "memory-hotplug", "pmem",
    ]
    /// Members naming what SwiftVMM does not have, with the words `APIRoute` uses for
    /// the same resources.
    static let unsupportedFields: [(String, String)] = [
        ("balloon", "balloon"), ("cpu-config", "cpu-config"), ("mmds-config", "mmds"), ("serial", "serial"),
        ("memory-hotplug", "hotplug"), ("pmem", "pmem"),
    ]

    var bootSource: BootSource?
    var machine = MachineConfig.default
    var drives: [Drive] = []
    var networkInterfaces: [NetworkInterface] = []
    var vsock: Vsock?
    var entropy: EntropyDevice?
    var logger: LoggerConfig?
    var metrics: MetricsConfig?

    init() {}

    /// A whole document (`--config-file`).
    init(document body: [UInt8]) throws(APIError) {
        let object = try JSONObject(body: body, fields: Self.fields)
        for (name, resource) in Self.unsupportedFields where object.value(name) != nil {
            throw .unsupported(APIRoute.unsupportedResources[resource] ?? "`\(name)`")
        }
        if let value = object.value("boot-source") { bootSource = try BootSource(value) }
        if let value = object.value("machine-config") { machine = try MachineConfig(value) }
        for value in try Self.array("drives", of: object) {
            let id = (try? JSONObject(value, fields: Drive.fields).string("drive_id")) ?? nil
            try put(try Drive(value, pathID: id ?? ""))
        }
        for value in try Self.array("network-interfaces", of: object) {
            let id = (try? JSONObject(value, fields: NetworkInterface.fields).string("iface_id")) ?? nil
            put(try NetworkInterface(value, pathID: id ?? ""))
        }
        if let value = object.value("vsock") { vsock = try Vsock(value) }
        if let value = object.value("entropy") { entropy = try EntropyDevice(value) }
        if let value = object.value("logger") { logger = try LoggerConfig(value) }
        if let value = object.value("metrics") { metrics = try MetricsConfig(value) }
    }

    private static func array(_ name: String, of object: JSONObject) throws(APIError) -> [JSONValue] {
        guard let value = object.value(name) else { return [] }
        guard case .array(let elements) = value else { throw .body("invalid type: \(value.kind), expected an array for `\(name)`") }
        return elements
    }

    /// Adds a drive or replaces the one with its ID. Only one may be the root device.
    mutating func put(_ drive: Drive) throws(APIError) {
        if drive.isRootDevice, drives.contains(where: { $0.isRootDevice && $0.driveID != drive.driveID }) {
            throw APIError("A root block device already exists!")
        }
        if let index = drives.firstIndex(where: { $0.driveID == drive.driveID }) {
            drives[index] = drive
        } else {
            drives.append(drive)
        }
    }

    mutating func put(_ interface: NetworkInterface) {
        if let index = networkInterfaces.firstIndex(where: { $0.interfaceID == interface.interfaceID }) {
            networkInterfaces[index] = interface
        } else {
            networkInterfaces.append(interface)
        }
    }

    /// The machine these resources describe, as the CLI would build it. The root drive is
    /// the first disk (`/dev/vda`); the others follow in the order they were put.
    func machineConfiguration() throws(APIError) -> MachineConfiguration {
        guard let bootSource else { throw APIError("Cannot start microvm without kernel configuration.") }
        let ordered = drives.filter(\.isRootDevice) + drives.filter { !$0.isRootDevice }
        var commandLine = bootSource.bootArgs ?? BootSource.defaultBootArgs
        if let root = ordered.first, root.isRootDevice { commandLine += " " + root.rootArguments }
        return MachineConfiguration(
            kernel: .file(bootSource.kernelImagePath), initrdPath: bootSource.initrdPath,
            commandLine: commandLine, memorySize: UInt64(machine.memorySizeMiB) << 20,
            vcpuCount: machine.vcpuCount,
            disks: ordered.map {
                DiskConfiguration(path: $0.pathOnHost, readOnly: $0.isReadOnly, io: $0.ioEngine == "Async" ? .thread : .vcpu)
            },
            networks: networkInterfaces.map(\.networkConfiguration),
            rng: entropy.map { _ in RNGConfiguration() },
            vsock: vsock.map { VsockConfiguration(guestCID: $0.guestCID, udsPath: $0.udsPath) })
    }

    /// `GET /vm/config`: every resource, in Firecracker's `FullVmConfiguration` shape.
    var json: JSONValue {
        .object([
            ("balloon", .null),
            ("drives", .array(drives.map(\.json))),
            ("boot-source", bootSource?.json ?? .null),
            ("cpu-config", .null),
            ("logger", logger?.json ?? .null),
            ("machine-config", machine.json),
            ("metrics", metrics?.json ?? .null),
            ("mmds-config", .null),
            ("network-interfaces", .array(networkInterfaces.map(\.json))),
            ("vsock", vsock?.json ?? .null),
            ("entropy", entropy?.json ?? .null),
        ])
    }
}
