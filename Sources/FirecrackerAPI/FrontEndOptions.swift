/// The command line of `swiftvmm firecracker` (or of swiftvmm started as `firecracker`),
/// with Firecracker's flags and their meanings.
public struct FrontEndOptions: Sendable, Equatable {
    /// Firecracker's default socket path.
    public static let defaultSocketPath = "/run/firecracker.socket"
    /// Firecracker's default instance ID.
    public static let defaultInstanceID = "anonymous-instance"

    public var apiSocket = FrontEndOptions.defaultSocketPath
    public var configFile: String?
    public var serveAPI = true
    public var instanceID = FrontEndOptions.defaultInstanceID
    public var level: String?
    public var logPath: String?
    public var showLevel = false
    public var metricsPath: String?
    public var maximumPayload: Int?
    /// `--boot-timer`: the guest's write to Firecracker's boot timer is logged (`BootTimer`).
    public var bootTimer = false
    public var help = false
    public var version = false

    public static func == (lhs: FrontEndOptions, rhs: FrontEndOptions) -> Bool {
        lhs.apiSocket == rhs.apiSocket && lhs.configFile == rhs.configFile && lhs.serveAPI == rhs.serveAPI
            && lhs.instanceID == rhs.instanceID && lhs.level == rhs.level && lhs.logPath == rhs.logPath
            && lhs.metricsPath == rhs.metricsPath && lhs.maximumPayload == rhs.maximumPayload
            && lhs.help == rhs.help && lhs.version == rhs.version && lhs.showLevel == rhs.showLevel
            && lhs.bootTimer == rhs.bootTimer
    }

    /// A usage error, naming the argument.
    public struct UsageError: Error, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init() {}

    /// Flags Firecracker takes that change nothing here: timing inputs from its jailer,
    /// and switches for what SwiftVMM does anyway (PCI devices) or never does (seccomp).
    static let acceptedSwitches: Set<String> = ["--no-seccomp", "--enable-pci", "--show-log-origin"]
    static let acceptedValues: Set<String> = ["--start-time-us", "--start-time-cpu-us", "--parent-cpu-time-us", "--module", "--mmds-size-limit"]

    /// Parses the arguments after `firecracker`.
    public static func parse(_ arguments: [String]) throws(UsageError) -> FrontEndOptions {
        var options = FrontEndOptions()
        var index = 0
        func value(_ flag: String) throws(UsageError) -> String {
            guard index < arguments.count else { throw UsageError(message: "\(flag) needs a value") }
            index += 1
            return arguments[index - 1]
        }
        while index < arguments.count {
            var flag = arguments[index]
            index += 1
            // "--flag=value" as "--flag value".
            if flag.hasPrefix("--"), let equals = flag.firstIndex(of: "=") {
                let rest = String(flag[flag.index(after: equals)...])
                flag = String(flag[..<equals])
                return try parse(Array(arguments[..<(index - 1)]) + [flag, rest] + Array(arguments[index...]))
            }
            switch flag {
            case "-h", "--help": options.help = true
            case "-V", "--version": options.version = true
            case "--api-sock":
                options.apiSocket = try value(flag)
                guard !options.apiSocket.isEmpty else { throw UsageError(message: "--api-sock needs a path") }
            case "--config-file":
                options.configFile = try value(flag)
                guard options.configFile?.isEmpty == false else { throw UsageError(message: "--config-file needs a path") }
            case "--no-api": options.serveAPI = false
            case "--id":
                let id = try value(flag)
                guard (1...64).contains(id.count), id.unicodeScalars.allSatisfy({ $0 == "-" || $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else {
                    throw UsageError(message: "--id '\(id)': 1 to 64 letters, digits, '-' or '_'")
                }
                options.instanceID = id
            case "--level":
                let text = try value(flag)
                guard let level = LoggerConfig.level(named: text) else {
                    throw UsageError(message: "--level '\(text)': one of \(LoggerConfig.levels.joined(separator: ", "))")
                }
                options.level = level
            case "--log-path": options.logPath = try value(flag)
            case "--show-level": options.showLevel = true
            case "--metrics-path": options.metricsPath = try value(flag)
            case "--http-api-max-payload-size":
                let text = try value(flag)
                guard let size = Int(text), (1...(16 << 20)).contains(size) else {
                    throw UsageError(message: "--http-api-max-payload-size '\(text)': a number of bytes from 1 to 16 MiB")
                }
                options.maximumPayload = size
            case "--boot-timer": options.bootTimer = true
            case "--seccomp-filter":
                throw UsageError(message: "--seccomp-filter: SwiftVMM installs no seccomp filter, so it cannot take one")
            default:
                if acceptedSwitches.contains(flag) { continue }
                if acceptedValues.contains(flag) { _ = try value(flag); continue }
                throw UsageError(message: "unknown option '\(flag)' for 'firecracker' (see swiftvmm firecracker --help)")
            }
        }
        if !options.serveAPI && options.configFile == nil {
            throw UsageError(message: "--no-api needs --config-file: without the API, the file is the only way to configure the machine")
        }
        return options
    }
}
