import KVM

/// Why a machine could not be built. Nothing runs when one of these is thrown, and
/// everything already created (VM, memory, vCPUs) is released.
public enum MachineError: Error, Sendable, CustomStringConvertible {
    /// A user input is wrong: a file, a size, a count. The message names the input.
    case badInput(String)
    /// The host's KVM refused something while the machine was being built.
    case host(KVMError)
    /// Anything else the host refused (mmap of guest RAM, a device registration).
    case setup(String)

    public var description: String {
        switch self {
        case .badInput(let message): return message
        case .host(let error): return error.description
        case .setup(let message): return message
        }
    }

    /// The process exit status for this error.
    public var exitStatus: Int32 {
        switch self {
        case .badInput: return ExitStatus.badInput
        case .host, .setup: return ExitStatus.hostError
        }
    }
}
