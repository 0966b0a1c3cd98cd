import CKVM

/// The host processor's own CPUID, for the few leaves KVM_GET_SUPPORTED_CPUID leaves
/// empty that a guest should still see (the brand string: KVM reports zeros there and
/// leaves the name to user space, as QEMU's and Firecracker's CPU models fill it).
public enum HostCPUID {
    /// CPUID with EAX = `function` and ECX = `index`, executed on the host.
    public static func query(_ function: UInt32, index: UInt32 = 0) -> CPUIDEntry {
        var registers: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &registers) { pointer in
            pointer.withMemoryRebound(to: UInt32.self, capacity: 4) { ckvm_host_cpuid(function, index, $0) }
        }
        return CPUIDEntry(function: function, index: index, eax: registers.0, ebx: registers.1, ecx: registers.2, edx: registers.3)
    }
}
