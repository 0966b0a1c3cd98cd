import HostIO

/// Everything needed to build a machine, as plain values (the CLI fills it from flags).
public struct MachineConfiguration: Sendable, Equatable {
    /// What to boot.
    public enum Kernel: Sendable, Equatable {
        /// A Linux bzImage or ELF vmlinux at this path.
        case file(String)
        /// The small demo guest built into the executable.
        case demo
    }

    /// The command line Linux gets when none is given: the console on the first serial
    /// port. Nothing else is needed: Linux finds the clock, the CPUs and the devices, and
    /// restarts and powers off the machine, through CPUID and ACPI.
    public static let defaultCommandLine = "console=ttyS0"
    /// 512 MiB: enough for a distribution kernel and a small initramfs.
    public static let defaultMemorySize: UInt64 = 512 << 20
    /// The least RAM SwiftVMM accepts: room for the boot data below 1 MiB and a kernel.
    public static let minimumMemorySize: UInt64 = 4 << 20

    public var kernel: Kernel
    public var initrdPath: String?
    public var commandLine: String
    public var memorySize: UInt64
    public var vcpuCount: Int
    /// Virtio block devices, in the order given (`--disk`).
    public var disks: [DiskConfiguration]
    /// A virtio-vsock device (`--vsock`), if any.
    public var vsock: VsockConfiguration?
    /// Virtio network devices, in the order given (`--net`).
    public var networks: [NetworkConfiguration]
    /// A virtio entropy device (`--rng`), or none.
    public var rng: RNGConfiguration?
    /// The tun/tap control device taps are opened through (`SWIFTVMM_TUN_DEVICE`
    /// names another, to see what SwiftVMM says when it is missing or out of reach).
    public var tunControlPath = TapDevice.defaultControlPath

    /// A configuration; by default the demo guest, 512 MiB, one vCPU, no devices.
    public init(
        kernel: Kernel = .demo,
        initrdPath: String? = nil,
        commandLine: String = MachineConfiguration.defaultCommandLine,
        memorySize: UInt64 = MachineConfiguration.defaultMemorySize,
        vcpuCount: Int = 1,
        disks: [DiskConfiguration] = [],
        networks: [NetworkConfiguration] = [],
        rng: RNGConfiguration? = nil,
        vsock: VsockConfiguration? = nil
    ) {
        self.kernel = kernel
        self.initrdPath = initrdPath
        self.commandLine = commandLine
        self.memorySize = memorySize
        self.vcpuCount = vcpuCount
        self.disks = disks
        self.networks = networks
        self.rng = rng
        self.vsock = vsock
    }
}
