import JSON

/// `PUT /logger` (Firecracker's `Logger`) and `--level`/`--log-path`: where log lines go
/// and how many.
struct LoggerConfig: Equatable {
    static let fields = ["level", "log_path", "show_level", "show_log_origin", "module"]
    /// The levels, least to most verbose (matched without regard to case).
    static let levels = ["Off", "Error", "Warning", "Info", "Debug", "Trace"]

    var level: String?
    var logPath: String?
    var showLevel: Bool
    var showLogOrigin: Bool

    init(level: String? = nil, logPath: String? = nil) {
        self.level = level
        self.logPath = logPath
        showLevel = false
        showLogOrigin = false
    }

    init(_ value: JSONValue) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        if let text = try object.string("level") {
            guard let level = Self.level(named: text) else {
                throw .body("unknown variant `\(text)`, expected one of \(Self.levels.map { "`\($0)`" }.joined(separator: ", ")) for `level`")
            }
            self.level = level
        }
        logPath = try object.string("log_path")
        showLevel = try object.bool("show_level") ?? false
        showLogOrigin = try object.bool("show_log_origin") ?? false
        _ = try object.string("module")
    }

    /// The level `text` names, spelt as `levels` spells it.
    static func level(named text: String) -> String? {
        levels.first { $0.lowercased() == text.lowercased() }
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let level { members.append(("level", .string(level))) }
        if let logPath { members.append(("log_path", .string(logPath))) }
        members += [("show_level", .bool(showLevel)), ("show_log_origin", .bool(showLogOrigin))]
        return .object(members)
    }
}

/// `PUT /metrics` (Firecracker's `Metrics`): the file `FlushMetrics` writes to.
struct MetricsConfig: Equatable {
    static let fields = ["metrics_path"]
    var metricsPath: String

    init(_ value: JSONValue) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        metricsPath = try object.requiredString("metrics_path")
        guard !metricsPath.isEmpty else { throw APIError("Cannot initialize the metrics system: the path is empty.") }
    }

    var json: JSONValue { .object([("metrics_path", .string(metricsPath))]) }
}

/// A request body that is one object with one required member, whose value names a case.
protocol OneChoiceBody: RawRepresentable<String>, CaseIterable {
    /// The member's name.
    static var field: String { get }
}

extension OneChoiceBody {
    init(_ body: [UInt8]) throws(APIError) {
        let object = try JSONObject(body: body, fields: [Self.field])
        guard let name = try object.choice(Self.field, of: Self.allCases.map(\.rawValue)) else {
            throw .body("missing field `\(Self.field)`")
        }
        self = Self(rawValue: name)!
    }
}

/// `PUT /actions` (Firecracker's `InstanceActionInfo`).
enum InstanceAction: String, OneChoiceBody {
    case flushMetrics = "FlushMetrics"
    case instanceStart = "InstanceStart"
    case sendCtrlAltDel = "SendCtrlAltDel"

    static let field = "action_type"
}

/// `PATCH /vm` (Firecracker's `Vm`): the state a running machine should be in.
enum VMStateChange: String, OneChoiceBody {
    case paused = "Paused"
    case resumed = "Resumed"

    static let field = "state"
}
