import Dispatch
import JSON
import Locking
import VMM

/// Turns API requests into the machine's life: resources gathered before InstanceStart,
/// then one `Machine`, built from the `MachineConfiguration` they describe and run as
/// `swiftvmm run` runs it: one code path, two front ends.
///
/// Requests are handled one at a time (the API server calls from any thread; a lock
/// orders them), each answered with Firecracker's status and body.
public final class VMController: Sendable {
    /// What the machine is doing, as `GET /` reports it.
    enum Phase: Equatable {
        case notStarted
        case running
        case paused
    }

    private struct State {
        var resources = VMResources()
        var phase = Phase.notStarted
        var machine: Machine?
        var requests = 0
        var failedRequests = 0
    }

    /// The instance ID (`--id`), which `GET /` reports.
    public let instanceID: String
    private let state = Locked(State())
    private let start: @Sendable (MachineConfiguration) throws(APIError) -> Machine
    let log: APILog
    private let origin: UInt64

    /// A controller whose InstanceStart builds a machine with `start` and runs it; `log`
    /// receives what the API does; `origin` is when the process started (for metrics).
    public init(
        instanceID: String, log: APILog, origin: UInt64,
        start: @escaping @Sendable (MachineConfiguration) throws(APIError) -> Machine
    ) {
        self.instanceID = instanceID
        self.log = log
        self.origin = origin
        self.start = start
    }

    /// Takes a whole configuration (`--config-file`) as if each resource had been PUT.
    public func configure(document: [UInt8]) throws(APIError) {
        let resources = try VMResources(document: document)
        if let logger = resources.logger { try log.configure(logger) }
        state.withLock { $0.resources = resources }
    }

    /// The machine, once started.
    public var machine: Machine? { state.withLock { $0.machine } }

    /// Lets go of the machine once it has stopped, handing it to the caller: whoever
    /// still holds the controller (an API connection's thread) no longer holds it.
    public func detachMachine() -> Machine? {
        state.withLock { state in
            defer { state.machine = nil }
            return state.machine
        }
    }

    // MARK: Requests

    /// Answers one request.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try route(request)
        } catch {
            response = .fault(error.status, error.message)
        }
        state.withLock {
            $0.requests += 1
            if response.status >= 300 { $0.failedRequests += 1 }
        }
        log.info("The API server received a \(request.method.rawValue) request on \"\(request.path)\"; answered \(response.status).")
        if response.status >= 300, let body = response.body { log.error("API request failed: \(body)") }
        return response
    }

    private func route(_ request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let route = try APIRoute(request)
        switch route {
        case .describeInstance:
            return .ok(instanceInfo)
        case .version:
            return .ok(.object([("firecracker_version", .string(APIRoute.apiVersion))]))
        case .getMachineConfig:
            return .ok(state.withLock { $0.resources.machine.json })
        case .getVMConfig:
            return .ok(state.withLock { $0.resources.json })
        case .putMachineConfig(let value):
            let config = try MachineConfig(value)
            try beforeStart { $0.machine = config }
        case .patchMachineConfig(let value):
            try beforeStart { (resources: inout VMResources) throws(APIError) in
                resources.machine = try MachineConfig(value, partialOf: resources.machine)
            }
        case .putBootSource(let value):
            let source = try BootSource(value)
            try beforeStart { $0.bootSource = source }
        case .putDrive(let id, let value):
            let drive = try Drive(value, pathID: id)
            try beforeStart { (resources: inout VMResources) throws(APIError) in try resources.put(drive) }
        case .patchDrive(let id, let value):
            _ = try JSONObject(value, fields: ["drive_id", "path_on_host", "rate_limiter"])
            guard state.withLock({ $0.phase }) != .notStarted else { throw .beforeStart }
            guard state.withLock({ $0.resources.drives.contains { $0.driveID == id } }) else {
                throw APIError("Invalid block device ID: \(id).")
            }
            throw .unsupported("changing a drive of a running machine (PATCH /drives)")
        case .putNetworkInterface(let id, let value):
            let interface = try NetworkInterface(value, pathID: id)
            try beforeStart { $0.put(interface) }
        case .putEntropy(let value):
            let device = try EntropyDevice(value)
            try beforeStart { $0.entropy = device }
        case .putVsock(let value):
            let vsock = try Vsock(value)
            try beforeStart { $0.vsock = vsock }
        case .putLogger(let value):
            let logger = try LoggerConfig(value)
            try log.configure(logger)
            state.withLock { $0.resources.logger = logger }
        case .putMetrics(let value):
            let metrics = try MetricsConfig(value)
            try log.configureMetrics(metrics.metricsPath)
            state.withLock { $0.resources.metrics = metrics }
        case .action(let action):
            try perform(action)
        case .changeState(let change):
            try changeState(change)
        }
        return .noContent
    }

    /// Applies `change` to the resources, unless the machine has started.
    private func beforeStart(_ change: (inout VMResources) throws(APIError) -> Void) throws(APIError) {
        try state.withLock { (state: inout State) throws(APIError) in
            guard state.phase == .notStarted else { throw APIError.afterStart }
            try change(&state.resources)
        }
    }

    private var instanceInfo: JSONValue {
        let phase = state.withLock { $0.phase }
        let name: String
        switch phase {
        case .notStarted: name = "Not started"
        case .running: name = "Running"
        case .paused: name = "Paused"
        }
        return .object([
            ("id", .string(instanceID)), ("state", .string(name)),
            ("vmm_version", .string(APIRoute.apiVersion)), ("app_name", .string("SwiftVMM")),
        ])
    }

    // MARK: Actions

    private func perform(_ action: InstanceAction) throws(APIError) {
        switch action {
        case .instanceStart:
            try startInstance()
        case .sendCtrlAltDel:
            guard let machine = state.withLock({ $0.machine }) else { throw .beforeStart }
            machine.sendCtrlAltDel()
        case .flushMetrics:
            let counts = state.withLock { ($0.requests, $0.failedRequests, $0.phase) }
            try log.flushMetrics(.object([
                ("utc_timestamp_ms", .integer(APILog.wallClockMilliseconds())),
                ("api_server", .object([
                    ("requests", .integer(Int64(counts.0))), ("failed_requests", .integer(Int64(counts.1))),
                ])),
                ("vmm", .object([
                    ("state", .string(counts.2 == .notStarted ? "Not started" : counts.2 == .paused ? "Paused" : "Running")),
                    ("uptime_ms", .integer(Int64((MonotonicClock.now() - origin) / 1_000_000))),
                ])),
            ]))
        }
    }

    /// InstanceStart: builds the machine from the resources and hands it to `start`.
    /// Anything wrong (a missing kernel, an unreadable disk) is the request's error, and
    /// no machine is left half built.
    public func startInstance() throws(APIError) {
        try state.withLock { (state: inout State) throws(APIError) in
            guard state.phase == .notStarted else { throw APIError.afterStart }
            let configuration = try state.resources.machineConfiguration()
            state.machine = try start(configuration)
            state.phase = .running
        }
        log.info("InstanceStart: the machine is running.")
    }

    private func changeState(_ change: VMStateChange) throws(APIError) {
        try state.withLock { (state: inout State) throws(APIError) in
            guard let machine = state.machine else { throw APIError.beforeStart }
            switch change {
            case .paused:
                do { try machine.pause() } catch { throw APIError("Failed to pause the vCPUs: \(error).") }
                state.phase = .paused
            case .resumed:
                machine.resume()
                state.phase = .running
            }
        }
    }
}
