import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// Why a KVM operation failed, naming the ioctl and the errno.
///
/// An error reads `KVM_SET_USER_MEMORY_REGION failed: Invalid argument (EINVAL)`,
/// never a bare errno.
public enum KVMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An ioctl returned -1.
    case ioctlFailed(name: String, errno: Errno)
    /// /dev/kvm could not be opened.
    case cannotOpen(path: String, errno: Errno)
    /// KVM_GET_API_VERSION answered something other than 12.
    case unsupportedAPIVersion(Int32)
    /// KVM_CHECK_EXTENSION said no to capabilities SwiftVMM relies on.
    case missingCapabilities([String])
    /// mmap of a vCPU's kvm_run area failed.
    case mmapFailed(what: String, errno: Errno)
    /// KVM_SET_MSRS set fewer MSRs than asked; the first one refused is named.
    case msrRefused(index: UInt32)
    /// eventfd(2) failed (too many open files, say), or a write to one did.
    case eventFDFailed(errno: Errno)

    public var description: String {
        switch self {
        case .ioctlFailed(let name, let errno):
            return "\(name) failed: \(errno)"
        case .cannotOpen(let path, let errno):
            switch errno.rawValue {
            case ENOENT:
                return "cannot open \(path): \(errno). KVM is not available on this host: "
                    + "load the kvm module (modprobe kvm_intel or kvm_amd) or enable "
                    + "virtualization in the firmware."
            case EACCES, EPERM:
                return "cannot open \(path): \(errno). Add your user to the group that "
                    + "owns it (usually 'kvm': sudo usermod -aG kvm $USER, then log in again)."
            default:
                return "cannot open \(path): \(errno)"
            }
        case .unsupportedAPIVersion(let version):
            return "KVM_GET_API_VERSION returned \(version); SwiftVMM needs the stable API, version 12"
        case .missingCapabilities(let names):
            return "this host's KVM lacks capabilities SwiftVMM needs: "
                + names.joined(separator: ", ")
        case .mmapFailed(let what, let errno):
            return "mmap of \(what) failed: \(errno)"
        case .msrRefused(let index):
            return "KVM_SET_MSRS refused MSR 0x\(String(index, radix: 16))"
        case .eventFDFailed(let errno):
            return "eventfd failed: \(errno)"
        }
    }
}
