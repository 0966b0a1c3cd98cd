import KVM
import VMM

/// `swiftvmm host`: what this host's KVM offers, in one screen.
enum HostReport {
    static func run(kvmPath: String = KVMSystem.defaultPath, cpuidVCPUs: Int? = nil, print: (String) -> Void) -> Int32 {
        let system: KVMSystem
        do {
            system = try KVMSystem(path: kvmPath)
        } catch {
            print("\(kvmPath): \(error)")
            print("verdict: SwiftVMM cannot run guests here.")
            return ExitStatus.hostError
        }
        print("\(kvmPath): opened, KVM API version \(system.apiVersion)")
        let virtualization = HostVirtualization.detect()
        print("virtualization: \(virtualization.summary)")
        print("vCPUs per VM: up to \(system.maximumVCPUs) (recommended \(system.checkExtension(.recommendedVCPUs)))")
        print("capabilities:")
        var missing: [String] = []
        for capability in Capability.reported {
            let value = system.checkExtension(capability)
            let required = Capability.required.contains(capability)
            if required && value == 0 { missing.append(capability.name) }
            let answer = value == 0 ? "no" : "yes"
            let padded = capability.name + String(repeating: " ", count: max(0, 32 - capability.name.count))
            print("  \(padded) \(answer)\(required ? "  (required)" : "")")
        }
        if let cpuidVCPUs {
            do {
                try printCPUID(system, vcpuCount: cpuidVCPUs, print: print)
            } catch {
                print("cpuid: \(error)")
                return ExitStatus.hostError
            }
        }
        guard missing.isEmpty else {
            print("verdict: SwiftVMM cannot run guests here: missing \(missing.joined(separator: ", ")).")
            return ExitStatus.hostError
        }
        if virtualization.isHardwareAssisted {
            print("verdict: SwiftVMM runs guests here at hardware speed.")
        } else {
            print("verdict: SwiftVMM runs guests here, slowly, through KVM's instruction emulator.")
            print(HostVirtualization.emulationAdvice)
        }
        return ExitStatus.success
    }

    /// The CPUID leaves vCPU 0 of a `vcpuCount`-vCPU machine gets (`CPUID`), one leaf a
    /// line; where SwiftVMM changed KVM's leaf, KVM's is printed above it.
    static func printCPUID(_ system: KVMSystem, vcpuCount: Int, print: (String) -> Void) throws(KVMError) {
        let host = try CPUID.Host.query(system)
        let supported = host.supported
        let guest = CPUID.entries(for: 0, of: vcpuCount, host: host)
        print("cpuid: vCPU 0 of \(vcpuCount) (\"kvm\": KVM_GET_SUPPORTED_CPUID's leaf, where SwiftVMM changes it):")
        print("  leaf       sub        eax        ebx        ecx        edx")
        func row(_ entry: CPUIDEntry, _ label: String) -> String {
            "  " + [entry.function, entry.index, entry.eax, entry.ebx, entry.ecx, entry.edx].map(hex32).joined(separator: " ")
                + label
        }
        for entry in guest {
            let original = supported.first { $0.function == entry.function && $0.index == entry.index }
            if let original, original == entry {
                print(row(entry, ""))
            } else {
                if let original { print(row(original, "  kvm")) }
                print(row(entry, "  vcpu0"))
            }
        }
    }

    /// `0x0000abcd`.
    static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
