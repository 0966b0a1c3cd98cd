import VMM

/// What `swiftvmm run` does besides running the machine: tracing, statistics and the
/// console checks of a CI boot test. None of it changes the machine the guest sees.
public struct RunOptions: Sendable, Equatable {
    /// `--trace`: what to trace.
    public var trace: TraceCategories = []
    /// `--trace-file`: where trace lines go instead of stderr.
    public var traceFile: String?
    /// `--stats`: print the statistics table on stderr when the machine stops.
    public var stats = false
    /// `--stats-json`: write the statistics as JSON to this file.
    public var statsJSONPath: String?
    /// `--ready-marker`: a console string whose first appearance the timeline records.
    public var readyMarker: String?
    /// `--expect`: a console string that ends the run with status 0.
    public var expect: String?
    /// `--timeout`: seconds after which a guest still running is stopped (status 124).
    public var timeout: Double?

    /// No tracing, no statistics, no checks.
    public init() {}

    /// Whether statistics are collected at all.
    var collectsStatistics: Bool { stats || statsJSONPath != nil }

    /// Sets the option `flag` names (`Arguments.apply` sends only these flags here).
    mutating func apply(_ flag: Arguments.RunFlag, _ value: String) throws(UsageError) {
        switch flag {
        case .trace: trace = try Self.parseTrace(value)
        case .traceFile: traceFile = try Self.nonEmpty(value, flag)
        case .stats: stats = true
        case .statsJSON: statsJSONPath = try Self.nonEmpty(value, flag)
        case .readyMarker: readyMarker = try Self.nonEmpty(value, flag)
        case .expect: expect = try Self.nonEmpty(value, flag)
        case .timeout:
            guard let seconds = Double(value), seconds.isFinite, seconds > 0 else {
                throw UsageError(message: "--timeout '\(value)': not a number of seconds greater than 0")
            }
            timeout = seconds
        default:
            preconditionFailure("\(flag.rawValue) is a machine configuration flag")
        }
    }

    /// Checks the options that only make sense together.
    func validate() throws(UsageError) {
        if traceFile != nil && trace.isEmpty {
            throw UsageError(message: "--trace-file needs --trace to say what to trace")
        }
        if readyMarker != nil && !collectsStatistics {
            throw UsageError(message: "--ready-marker is reported in the statistics: add --stats or --stats-json")
        }
    }

    /// `exits,io,mmio,virtio,all`, any of them, comma-separated.
    static func parseTrace(_ value: String) throws(UsageError) -> TraceCategories {
        var categories: TraceCategories = []
        for name in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard let match = TraceCategories.names.first(where: { $0.name == name }) else {
                let names = TraceCategories.names.map(\.name).joined(separator: ", ")
                throw UsageError(message: "--trace '\(value)': unknown category '\(name)'; the categories are \(names)")
            }
            categories.formUnion(match.categories)
        }
        return categories
    }

    private static func nonEmpty(_ value: String, _ flag: Arguments.RunFlag) throws(UsageError) -> String {
        guard !value.isEmpty else { throw UsageError(message: "\(flag.rawValue) needs a non-empty value") }
        return value
    }
}
