import CKVM

/// A KVM capability, asked with KVM_CHECK_EXTENSION (Documentation/virt/kvm/api.rst, 4.4).
public struct Capability: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public let name: String

    init(_ rawValue: Int32, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    public var description: String { name }

    public static let irqChip = Capability(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP")
    public static let userMemory = Capability(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY")
    public static let setTSSAddress = Capability(KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR")
    public static let extendedCPUID = Capability(KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID")
    public static let recommendedVCPUs = Capability(KVM_CAP_NR_VCPUS, "KVM_CAP_NR_VCPUS")
    public static let maximumVCPUs = Capability(KVM_CAP_MAX_VCPUS, "KVM_CAP_MAX_VCPUS")
    public static let mpState = Capability(KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE")
    public static let pit2 = Capability(KVM_CAP_PIT2, "KVM_CAP_PIT2")
    public static let setIdentityMapAddress = Capability(
        KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR")
    public static let immediateExit = Capability(KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT")
    public static let ioEventFD = Capability(KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD")
    public static let irqFD = Capability(KVM_CAP_IRQFD, "KVM_CAP_IRQFD")
    public static let irqRouting = Capability(KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING")
    public static let signalMSI = Capability(KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI")
    public static let tscDeadlineTimer = Capability(KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER")
    public static let x2APICAPI = Capability(KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API")
    public static let userSpaceMSR = Capability(KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR")

    /// What SwiftVMM cannot run without: user memory slots, the in-kernel interrupt
    /// controllers and PIT, the x86 TSS and identity-map setup, CPUID passing, vCPU
    /// multiprocessing state, and `immediate_exit` for stopping vCPUs.
    public static let required: [Capability] = [
        .userMemory, .irqChip, .pit2, .setTSSAddress, .setIdentityMapAddress,
        .extendedCPUID, .mpState, .immediateExit,
    ]

    /// Capabilities `swiftvmm host` reports besides the required ones.
    public static let reported: [Capability] = required + [
        .ioEventFD, .irqFD, .irqRouting, .signalMSI, .tscDeadlineTimer, .x2APICAPI, .userSpaceMSR,
    ]
}
