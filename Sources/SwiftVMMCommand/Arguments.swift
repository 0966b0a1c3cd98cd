import VMM

/// What the user asked for on the command line.
public enum Command: Sendable, Equatable {
    /// `swiftvmm run`: build the machine and run it, as `RunOptions` says.
    case run(MachineConfiguration, RunOptions = RunOptions())
    /// `swiftvmm host`: report what the host's KVM offers; with `--cpuid`, also the
    /// CPUID leaves KVM supports beside those vCPU 0 of a `cpuidVCPUs`-vCPU machine gets.
    case host(cpuidVCPUs: Int? = nil)
    /// `swiftvmm firecracker ...` (or swiftvmm started as `firecracker`): the arguments
    /// after the command, for Firecracker's front end (`FirecrackerFrontEnd`).
    case firecracker([String])
    /// Print the help.
    case help
    /// Print the version.
    case version
}

/// A usage error: the message names the argument and what is wrong with it.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, naming the argument.
    public let message: String
    /// The message.
    public var description: String { message }
}

/// Parses `swiftvmm`'s arguments (without the program name).
public enum Arguments {
    /// The flags of `swiftvmm run`; `value` says which take a value.
    enum RunFlag: String, CaseIterable {
        case kernel = "--kernel"
        case initrd = "--initrd"
        case cmdline = "--cmdline"
        case memory = "--memory"
        case cpus = "--cpus"
        case disk = "--disk"
        case vsock = "--vsock"
        case net = "--net"
        case rng = "--rng"
        case trace = "--trace"
        case traceFile = "--trace-file"
        case stats = "--stats"
        case statsJSON = "--stats-json"
        case readyMarker = "--ready-marker"
        case expect = "--expect"
        case timeout = "--timeout"

        /// Flags that may be given more than once, each adding one item.
        var isRepeatable: Bool { self == .disk || self == .net }

        /// Whether the flag takes a value: `--stats` is a switch, `--trace` may go
        /// without one (meaning `all`), every other flag needs one.
        var value: ValueKind {
            switch self {
            case .stats: return .none
            case .trace: return .optional(default: "all")
            case .rng: return .optional(default: "")
            default: return .required
            }
        }

        enum ValueKind: Equatable {
            case none
            case optional(default: String)
            case required
        }
    }

    /// The most vCPUs any x86 machine can number: one per 32-bit x2APIC ID.
    static let maximumVCPUs = Int(UInt32.max) + 1

    /// Parses `arguments`; a usage error names the argument at fault.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Command {
        guard let first = arguments.first else { return .help }
        let rest = Array(arguments.dropFirst())
        switch first {
        case "-h", "--help", "help": return .help
        case "-V", "--version", "version": return .version
        case "host": return try parseHost(rest)
        case "run": return try parseRun(rest)
        case "firecracker": return .firecracker(rest)
        default:
            throw UsageError(message: "unknown command '\(first)'; the commands are run, firecracker, host and help")
        }
    }

    /// A `--cpus` value: a whole number from 1 to what x86 can number.
    static func parseVCPUCount(_ value: String) throws(UsageError) -> Int {
        guard let count = Int(value), count >= 1 else {
            throw UsageError(message: "--cpus '\(value)': not a whole number of at least 1")
        }
        // x2APIC IDs are 32 bits (Intel SDM vol. 3A, 11.12): no x86 machine has more.
        guard count <= Arguments.maximumVCPUs else {
            throw UsageError(message: "--cpus \(value): more CPUs than x86's 32-bit APIC IDs can number")
        }
        return count
    }

    /// `host [--cpuid [--cpus N]]`.
    static func parseHost(_ arguments: [String]) throws(UsageError) -> Command {
        if arguments.contains("-h") || arguments.contains("--help") { return .help }
        var cpuid = false
        var vcpus: Int? = nil
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--cpuid":
                cpuid = true
            case "--cpus":
                guard index < arguments.count else { throw UsageError(message: "--cpus needs a value") }
                vcpus = try parseVCPUCount(arguments[index])
                index += 1
            default:
                throw UsageError(message: "unknown option '\(argument)' for 'host'; it takes --cpuid and --cpus N")
            }
        }
        if vcpus != nil && !cpuid { throw UsageError(message: "host: --cpus goes with --cpuid") }
        return .host(cpuidVCPUs: cpuid ? vcpus ?? 1 : nil)
    }

    static func parseRun(_ arguments: [String]) throws(UsageError) -> Command {
        var configuration = MachineConfiguration()
        var options = RunOptions()
        var seen: Set<RunFlag> = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" { return .help }
            // Accept both "--flag value" and "--flag=value".
            let name: String
            var value: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
            }
            guard let flag = RunFlag(rawValue: name) else {
                throw UsageError(message: "unknown option '\(argument)' for 'run' (see swiftvmm --help)")
            }
            switch flag.value {
            case .none:
                guard value == nil else { throw UsageError(message: "\(flag.rawValue) takes no value") }
                value = ""
            case .optional(let fallback) where value == nil:
                // The next argument is the value unless it is another flag (or missing).
                if index < arguments.count && !arguments[index].hasPrefix("-") {
                    value = arguments[index]
                    index += 1
                } else {
                    value = fallback
                }
            case .optional, .required:
                if value == nil {
                    guard index < arguments.count else {
                        throw UsageError(message: "\(flag.rawValue) needs a value")
                    }
                    value = arguments[index]
                    index += 1
                }
            }
            guard seen.insert(flag).inserted || flag.isRepeatable else {
                throw UsageError(message: "\(flag.rawValue) is given more than once")
            }
            try apply(flag, value!, to: &configuration, options: &options)
        }
        try options.validate()
        return .run(configuration, options)
    }

    /// Sets what `flag` says: part of the machine's configuration, or one of the run's
    /// options (tracing, statistics, boot checks).
    static func apply(
        _ flag: RunFlag, _ value: String, to configuration: inout MachineConfiguration, options: inout RunOptions
    ) throws(UsageError) {
        switch flag {
        case .kernel:
            guard !value.isEmpty else { throw UsageError(message: "--kernel needs a path") }
            configuration.kernel = .file(value)
        case .initrd:
            guard !value.isEmpty else { throw UsageError(message: "--initrd needs a path") }
            configuration.initrdPath = value
        case .cmdline:
            guard !value.utf8.contains(0) else {
                throw UsageError(message: "--cmdline cannot contain a NUL byte")
            }
            configuration.commandLine = value
        case .memory:
            do {
                configuration.memorySize = try MemorySize.parse(value)
            } catch {
                throw UsageError(message: error.description)
            }
        case .cpus:
            // The practical bound is the host's (KVM_CAP_MAX_VCPUS): the machine checks it.
            configuration.vcpuCount = try parseVCPUCount(value)
        case .disk:
            configuration.disks.append(try parseDisk(value))
        case .vsock:
            configuration.vsock = try parseVsock(value)
        case .net:
            configuration.networks.append(try parseNet(value))
        case .rng:
            configuration.rng = try parseRNG(value)
        case .trace, .traceFile, .stats, .statsJSON, .readyMarker, .expect, .timeout:
            try options.apply(flag, value)
        }
    }

    /// `PATH[,readonly=on|off][,transport=pci|mmio][,io=vcpu|thread]`.
    static func parseDisk(_ value: String) throws(UsageError) -> DiskConfiguration {
        let parts = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let path = parts.first, !path.isEmpty else {
            throw UsageError(message: "--disk '\(value)': needs a path first, as in --disk disk.img,readonly=on")
        }
        var disk = DiskConfiguration(path: path)
        var seenKeys: Set<String> = []
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else {
                throw UsageError(message: "--disk '\(value)': '\(option)' is not key=value")
            }
            let (key, setting) = (pair[0], pair[1])
            guard seenKeys.insert(key).inserted else {
                throw UsageError(message: "--disk '\(value)': '\(key)' is given more than once")
            }
            func choose<T: RawRepresentable & CaseIterable>(_ type: T.Type) throws(UsageError) -> T where T.RawValue == String {
                guard let choice = T(rawValue: setting) else {
                    let choices = T.allCases.map(\.rawValue).joined(separator: " or ")
                    throw UsageError(message: "--disk '\(value)': \(key)=\(setting): \(key) is \(choices)")
                }
                return choice
            }
            switch key {
            case "readonly": disk.readOnly = try choose(OnOff.self) == .on
            case "transport": disk.transport = try choose(DiskConfiguration.Transport.self)
            case "io": disk.io = try choose(DiskConfiguration.IOMode.self)
            default:
                throw UsageError(message: "--disk '\(value)': unknown option '\(key)'; the options are readonly, transport and io")
            }
        }
        return disk
    }

    enum OnOff: String, CaseIterable { case on, off }

    /// `cid=N,uds=PATH`: the guest's CID (3 or more) and the host side's Unix socket.
    static func parseVsock(_ value: String) throws(UsageError) -> VsockConfiguration {
        var cid: UInt32?, path: String?
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw UsageError(message: "--vsock '\(value)': '\(part)' is not key=value") }
            switch pair[0] {
            case "cid":
                guard let number = UInt32(pair[1]), number >= VsockConfiguration.firstGuestCID else {
                    throw UsageError(message: "--vsock '\(value)': cid=\(pair[1]): a guest CID is a number from 3 to 4294967295")
                }
                cid = number
            case "uds":
                guard !pair[1].isEmpty, pair[1].utf8.count <= VsockConfiguration.maximumPathBytes else {
                    throw UsageError(message: "--vsock '\(value)': uds needs a path of 1 to \(VsockConfiguration.maximumPathBytes) bytes")
                }
                path = pair[1]
            default:
                throw UsageError(message: "--vsock '\(value)': unknown option '\(pair[0])'; the options are cid and uds")
            }
        }
        guard let cid, let path else { throw UsageError(message: "--vsock '\(value)': needs cid=N,uds=PATH") }
        return VsockConfiguration(guestCID: cid, udsPath: path)
    }
}
