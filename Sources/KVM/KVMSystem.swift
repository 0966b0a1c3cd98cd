import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// The KVM subsystem: an open `/dev/kvm` (Documentation/virt/kvm/api.rst, 4.1-4.4).
public final class KVMSystem: Sendable {
    /// The only KVM API version there has ever been (api.rst, 4.1 KVM_GET_API_VERSION).
    public static let stableAPIVersion: Int32 = 12
    public static let defaultPath = "/dev/kvm"

    let fd: FileDescriptor
    /// The API version the kernel reported.
    public let apiVersion: Int32

    /// Opens `/dev/kvm` and checks its API version. Capabilities are checked separately
    /// (`requireCapabilities()`) so `swiftvmm host` can report on a host that lacks some.
    public init(path: String = KVMSystem.defaultPath) throws(KVMError) {
        let raw = open(path, O_RDWR | O_CLOEXEC)
        guard raw >= 0 else { throw .cannotOpen(path: path, errno: .current) }
        fd = FileDescriptor(raw)
        apiVersion = try fd.ioctl(.getAPIVersion)
        guard apiVersion == Self.stableAPIVersion else { throw .unsupportedAPIVersion(apiVersion) }
    }

    /// KVM_CHECK_EXTENSION: 0 when absent; otherwise 1 or a capability-specific number.
    public func checkExtension(_ capability: Capability) -> Int32 {
        (try? fd.ioctl(.checkExtension, value: UInt(capability.rawValue))) ?? 0
    }

    /// Throws naming every required capability this host lacks.
    public func requireCapabilities(_ capabilities: [Capability] = Capability.required) throws(KVMError) {
        let missing = capabilities.filter { checkExtension($0) == 0 }
        if !missing.isEmpty { throw .missingCapabilities(missing.map(\.name)) }
    }

    /// The most vCPUs a VM may have (KVM_CAP_MAX_VCPUS, falling back to KVM_CAP_NR_VCPUS,
    /// then 4, as api.rst 4.7 prescribes).
    public var maximumVCPUs: Int {
        let maximum = checkExtension(.maximumVCPUs)
        if maximum > 0 { return Int(maximum) }
        let recommended = checkExtension(.recommendedVCPUs)
        return recommended > 0 ? Int(recommended) : 4
    }

    /// KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's shared `kvm_run` area.
    public func vcpuMmapSize() throws(KVMError) -> Int {
        Int(try fd.ioctl(.getVCPUMmapSize))
    }

    /// KVM_GET_SUPPORTED_CPUID: the CPUID leaves this host's KVM can present to a guest.
    /// The kernel refuses an array too small for them all with E2BIG (api.rst 4.46), so
    /// the array doubles from `startingCapacity` until they fit.
    public func supportedCPUID(startingCapacity: Int = 128) throws(KVMError) -> [CPUIDEntry] {
        var capacity = startingCapacity
        while true {
            let cpuid = FlexibleArray<kvm_cpuid2>(capacity: capacity)
            do {
                try cpuid.withArgument { (argument) throws(KVMError) in try fd.ioctl(.getSupportedCPUID, buffer: argument) }
                return cpuid.entries.map(CPUIDEntry.init)
            } catch .ioctlFailed(_, let errno) where errno.rawValue == E2BIG && capacity < Self.cpuidCapacityLimit {
                capacity *= 2
            }
        }
    }

    /// Far more CPUID leaves than any host reports (KVM_MAX_CPUID_ENTRIES is 256): past
    /// it, E2BIG is an error, not a reason to grow the array again.
    static let cpuidCapacityLimit = 4096

    /// KVM_CREATE_VM: a new virtual machine of the default type.
    public func createVM() throws(KVMError) -> VirtualMachine {
        let raw = try fd.ioctl(.createVM, value: 0)
        return VirtualMachine(fd: FileDescriptor(raw), system: self)
    }
}
