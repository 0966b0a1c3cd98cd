import JSON

/// A request, recognized: which of the API's operations it is, with its body parsed as
/// JSON (each resource reads its own fields). Paths and wording follow Firecracker's API
/// server: an unknown path or method is "Invalid request method and/or path".
enum APIRoute {
    /// The version of Firecracker's API description these routes follow.
    static let apiVersion = "1.10.0"

    case describeInstance, version, getMachineConfig, getVMConfig
    case putMachineConfig(JSONValue), patchMachineConfig(JSONValue)
    case putBootSource(JSONValue)
    case putDrive(String, JSONValue), patchDrive(String, JSONValue)
    case putNetworkInterface(String, JSONValue)
    case putEntropy(JSONValue), putVsock(JSONValue)
    case putLogger(JSONValue), putMetrics(JSONValue)
    case action(InstanceAction)
    case changeState(VMStateChange)

    /// Resources of Firecracker's API that SwiftVMM has no device or feature for.
    static let unsupportedResources: [String: String] = [
        "balloon": "a balloon device", "mmds": "the microVM metadata service (MMDS)",
        "snapshot": "snapshots", "cpu-config": "CPU templates", "serial": "configuring the serial device",
        "hotplug": "memory hot-plugging", "pmem": "virtio-pmem devices",
    ]

    init(_ request: HTTPRequest) throws(APIError) {
        let method = request.method
        let tokens = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let resource = tokens.first ?? ""
        let hasBody = !request.body.isEmpty
        let invalid = APIError("Invalid request method and/or path: \(method.rawValue) \(request.path).")
        switch method {
        case .get:
            guard !hasBody else { throw APIError("GET request cannot have a body.") }
        case .put:
            guard hasBody else { throw APIError("Empty PUT request.") }
        case .patch:
            guard hasBody else { throw APIError("Empty PATCH request.") }
        }
        if let what = Self.unsupportedResources[resource] { throw .unsupported(what) }
        func body() throws(APIError) -> JSONValue {
            do { return try JSONParser.parse(request.body) } catch { throw .body(error.description) }
        }
        func id() throws(APIError) -> String {
            guard tokens.count == 2 else { throw tokens.count < 2 ? APIError("The ID cannot be empty.") : invalid }
            return try checkedID(tokens[1])
        }
        func single() throws(APIError) {
            guard tokens.count == 1 else { throw invalid }
        }
        switch (method, resource) {
        case (.get, ""): guard tokens.isEmpty else { throw invalid }; self = .describeInstance
        case (.get, "version"): try single(); self = .version
        case (.get, "machine-config"): try single(); self = .getMachineConfig
        case (.get, "vm"):
            guard tokens.count == 2, tokens[1] == "config" else { throw invalid }
            self = .getVMConfig
        case (.put, "machine-config"): try single(); self = .putMachineConfig(try body())
        case (.patch, "machine-config"): try single(); self = .patchMachineConfig(try body())
        case (.put, "boot-source"): try single(); self = .putBootSource(try body())
        case (.put, "drives"): self = .putDrive(try id(), try body())
        case (.patch, "drives"): self = .patchDrive(try id(), try body())
        case (.put, "network-interfaces"): self = .putNetworkInterface(try id(), try body())
        case (.patch, "network-interfaces"): throw .unsupported("rate limiters on network interfaces (PATCH /network-interfaces)")
        case (.put, "entropy"): try single(); self = .putEntropy(try body())
        case (.put, "vsock"): try single(); self = .putVsock(try body())
        case (.put, "logger"): try single(); self = .putLogger(try body())
        case (.put, "metrics"): try single(); self = .putMetrics(try body())
        case (.put, "actions"): try single(); self = .action(try InstanceAction(request.body))
        case (.patch, "vm"): try single(); self = .changeState(try VMStateChange(request.body))
        default: throw invalid
        }
    }
}
