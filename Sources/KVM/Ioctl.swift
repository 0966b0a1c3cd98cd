import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// An ioctl request: its number and the name errors report.
///
/// Every KVM ioctl SwiftVMM issues goes through `FileDescriptor.ioctl`, the one funnel
/// that turns -1 into a `KVMError` naming the request.
struct IoctlRequest: Sendable {
    let name: String
    let number: UInt

    // System ioctls (Documentation/virt/kvm/api.rst, 4.1-4.4, 4.46)
    static let getAPIVersion = IoctlRequest(name: "KVM_GET_API_VERSION", number: CKVM_GET_API_VERSION)
    static let createVM = IoctlRequest(name: "KVM_CREATE_VM", number: CKVM_CREATE_VM)
    static let checkExtension = IoctlRequest(name: "KVM_CHECK_EXTENSION", number: CKVM_CHECK_EXTENSION)
    static let getVCPUMmapSize = IoctlRequest(name: "KVM_GET_VCPU_MMAP_SIZE", number: CKVM_GET_VCPU_MMAP_SIZE)
    static let getSupportedCPUID = IoctlRequest(name: "KVM_GET_SUPPORTED_CPUID", number: CKVM_GET_SUPPORTED_CPUID)

    // VM ioctls
    static let createVCPU = IoctlRequest(name: "KVM_CREATE_VCPU", number: CKVM_CREATE_VCPU)
    static let setUserMemoryRegion = IoctlRequest(name: "KVM_SET_USER_MEMORY_REGION", number: CKVM_SET_USER_MEMORY_REGION)
    static let setTSSAddress = IoctlRequest(name: "KVM_SET_TSS_ADDR", number: CKVM_SET_TSS_ADDR)
    static let setIdentityMapAddress = IoctlRequest(name: "KVM_SET_IDENTITY_MAP_ADDR", number: CKVM_SET_IDENTITY_MAP_ADDR)
    static let createIRQChip = IoctlRequest(name: "KVM_CREATE_IRQCHIP", number: CKVM_CREATE_IRQCHIP)
    static let getIRQChip = IoctlRequest(name: "KVM_GET_IRQCHIP", number: CKVM_GET_IRQCHIP)
    static let setIRQChip = IoctlRequest(name: "KVM_SET_IRQCHIP", number: CKVM_SET_IRQCHIP)
    static let createPIT2 = IoctlRequest(name: "KVM_CREATE_PIT2", number: CKVM_CREATE_PIT2)
    static let irqLine = IoctlRequest(name: "KVM_IRQ_LINE", number: CKVM_IRQ_LINE)
    static let ioEventFD = IoctlRequest(name: "KVM_IOEVENTFD", number: CKVM_IOEVENTFD)
    static let irqFD = IoctlRequest(name: "KVM_IRQFD", number: CKVM_IRQFD)
    static let setGSIRouting = IoctlRequest(name: "KVM_SET_GSI_ROUTING", number: CKVM_SET_GSI_ROUTING)
    static let signalMSI = IoctlRequest(name: "KVM_SIGNAL_MSI", number: CKVM_SIGNAL_MSI)

    // vCPU ioctls
    static let run = IoctlRequest(name: "KVM_RUN", number: CKVM_RUN)
    static let getRegisters = IoctlRequest(name: "KVM_GET_REGS", number: CKVM_GET_REGS)
    static let setRegisters = IoctlRequest(name: "KVM_SET_REGS", number: CKVM_SET_REGS)
    static let getSpecialRegisters = IoctlRequest(name: "KVM_GET_SREGS", number: CKVM_GET_SREGS)
    static let setSpecialRegisters = IoctlRequest(name: "KVM_SET_SREGS", number: CKVM_SET_SREGS)
    static let setMSRs = IoctlRequest(name: "KVM_SET_MSRS", number: CKVM_SET_MSRS)
    static let setCPUID2 = IoctlRequest(name: "KVM_SET_CPUID2", number: CKVM_SET_CPUID2)
    static let setFPU = IoctlRequest(name: "KVM_SET_FPU", number: CKVM_SET_FPU)
    static let getLocalAPIC = IoctlRequest(name: "KVM_GET_LAPIC", number: CKVM_GET_LAPIC)
    static let setLocalAPIC = IoctlRequest(name: "KVM_SET_LAPIC", number: CKVM_SET_LAPIC)
    static let getMPState = IoctlRequest(name: "KVM_GET_MP_STATE", number: CKVM_GET_MP_STATE)
    static let setMPState = IoctlRequest(name: "KVM_SET_MP_STATE", number: CKVM_SET_MP_STATE)
}

/// An open file descriptor, closed when the last reference goes away.
final class FileDescriptor: Sendable {
    let rawValue: Int32

    init(_ rawValue: Int32) { self.rawValue = rawValue }

    deinit { close(rawValue) }

    /// ioctl(2) with no argument.
    @discardableResult
    func ioctl(_ request: IoctlRequest) throws(KVMError) -> Int32 {
        try check(request, ckvm_ioctl_none(rawValue, request.number))
    }

    /// ioctl(2) with an integer argument.
    @discardableResult
    func ioctl(_ request: IoctlRequest, value: UInt) throws(KVMError) -> Int32 {
        try check(request, ckvm_ioctl_value(rawValue, request.number, value))
    }

    /// ioctl(2) with a pointer to a struct the kernel reads or fills.
    @discardableResult
    func ioctl<T>(_ request: IoctlRequest, _ argument: inout T) throws(KVMError) -> Int32 {
        let result = withUnsafeMutablePointer(to: &argument) {
            ckvm_ioctl_pointer(rawValue, request.number, $0)
        }
        return try check(request, result)
    }

    /// ioctl(2) with a raw buffer (structs that end in a flexible array).
    @discardableResult
    func ioctl(_ request: IoctlRequest, buffer: UnsafeMutableRawPointer) throws(KVMError) -> Int32 {
        try check(request, ckvm_ioctl_pointer(rawValue, request.number, buffer))
    }

    private func check(_ request: IoctlRequest, _ result: Int32) throws(KVMError) -> Int32 {
        if result < 0 { throw .ioctlFailed(name: request.name, errno: .current) }
        return result
    }
}
