import HostIO
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// Why a `--net` backend could not be made ready: a tap that cannot be attached, a port
/// that cannot be forwarded, passt missing or failing to start. `flag` names the input
/// as messages do ("--net tap=tap0", "--net user"). A problem with what the user named
/// (the tap, the port) is bad input; one with the host (no tun/tap driver, no passt) is
/// the host's.
public enum NetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The tun/tap control device could not be opened.
    case cannotOpenTunControl(flag: String, path: String, name: String, Errno)
    /// TUNSETIFF refused the tap `name`: missing and not creatable (EPERM), in use
    /// (EBUSY), or not a tap.
    case cannotAttachTap(flag: String, name: String, Errno)
    /// Another ioctl failed while the tap was set up.
    case tapSetupFailed(flag: String, ioctl: String, Errno)
    /// A host port to forward cannot be bound.
    case portUnavailable(flag: String, proto: String, port: UInt16, Errno)
    /// passt is not on PATH.
    case passtMissing(flag: String)
    /// The socket pair to passt could not be made.
    case cannotCreateSocketPair(flag: String, Errno)
    /// posix_spawn(3) of passt failed.
    case cannotStartPasst(flag: String, path: String, Errno)

    /// The error for a tap that `TapDevice` could not open, named `flag` on the command line.
    init(_ error: TapDevice.OpenError, flag: String, name: String) {
        switch error {
        case .cannotOpenControl(let path, let errno): self = .cannotOpenTunControl(flag: flag, path: path, name: name, errno)
        case .cannotAttach(_, let errno): self = .cannotAttachTap(flag: flag, name: name, errno)
        case .setupFailed(let ioctl, let errno): self = .tapSetupFailed(flag: flag, ioctl: ioctl, errno)
        }
    }

    public var description: String {
        switch self {
        case .cannotOpenTunControl(let flag, let path, let name, let errno):
            let hint = errno.rawValue == EACCES || errno.rawValue == EPERM
                ? ": a tap needs root, or read and write access to \(path) and a tap this user owns (ip tuntap add dev \(name) mode tap user USER)"
                : errno.rawValue == ENOENT ? ": the host has no tun/tap driver (modprobe tun)" : ""
            return "\(flag): cannot open \(path): \(errno)\(hint)"
        case .cannotAttachTap(let flag, let name, let errno) where errno.rawValue == EPERM:
            return "\(flag): tap \(name) does not exist and this user may not create it: create it with ip tuntap add dev \(name) mode tap user USER"
        case .cannotAttachTap(let flag, let name, let errno) where errno.rawValue == EBUSY:
            return "\(flag): tap \(name) is in use by another program"
        case .cannotAttachTap(let flag, let name, let errno):
            return "\(flag): cannot attach to tap \(name): \(errno) (is it a tap device, opened with vnet headers?)"
        case .tapSetupFailed(let flag, let ioctl, let errno):
            return "\(flag): \(ioctl) failed: \(errno)"
        case .portUnavailable(let flag, let proto, let port, let errno):
            return "\(flag): host \(proto) port \(port) cannot be forwarded: \(errno)"
        case .passtMissing(let flag):
            return "\(flag): passt is not installed (or not on PATH); install it: apt-get install passt"
        case .cannotCreateSocketPair(let flag, let errno):
            return "\(flag): cannot create a socket pair: \(errno)"
        case .cannotStartPasst(let flag, let path, let errno):
            return "\(flag): cannot start \(path): \(errno)"
        }
    }

    /// Whether the user's input is the problem (exit status 2) rather than the host (4).
    public var concernsInput: Bool {
        switch self {
        case .cannotAttachTap, .portUnavailable: return true
        case .cannotOpenTunControl, .tapSetupFailed, .passtMissing, .cannotCreateSocketPair, .cannotStartPasst: return false
        }
    }
}
