import KVM
#if canImport(Glibc)
import Glibc
#endif

/// Which KVM device `swiftvmm run` and `swiftvmm host` open: /dev/kvm, unless the
/// environment variable SWIFTVMM_KVM_DEVICE names another path. It exists so that the
/// messages for a missing or inaccessible device can be seen, and tested, on a host
/// whose /dev/kvm works.
enum KVMDevice {
    static let environmentVariable = "SWIFTVMM_KVM_DEVICE"

    static func path() throws(UsageError) -> String {
        guard let value = getenv(environmentVariable) else { return KVMSystem.defaultPath }
        let path = String(cString: value)
        guard !path.isEmpty else {
            throw UsageError(message: "\(environmentVariable) is set but empty; unset it to use \(KVMSystem.defaultPath)")
        }
        return path
    }
}
