import KVM
import VMM

/// `swiftvmm host`: what this host's KVM offers, in one screen.
enum HostReport {
    static func run(kvmPath: String = KVMSystem.defaultPath, print: (String) -> Void) -> Int32 {
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
}
