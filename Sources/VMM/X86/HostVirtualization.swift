import HostIO
#if canImport(Glibc)
import Glibc
#endif

/// How this host's KVM runs guests: with hardware assistance (Intel VMX, AMD SVM), or
/// without it (for example the PVM module, where KVM's instruction emulator runs guest
/// code that the hardware cannot). SwiftVMM never behaves differently on either; it only
/// tells the user, because on an emulating host a stock Linux kernel stops at the first
/// instruction the emulator lacks.
public enum HostVirtualization: Sendable, Equatable {
    case hardwareAssisted(String)
    case emulated(String)

    /// Reads /proc/cpuinfo's flags and /sys/module.
    public static func detect() -> HostVirtualization {
        let flags = cpuFlags()
        if flags.contains("vmx") { return .hardwareAssisted("Intel VT-x (vmx)") }
        if flags.contains("svm") { return .hardwareAssisted("AMD-V (svm)") }
        if access("/sys/module/kvm_pvm", F_OK) == 0 {
            return .emulated("no vmx/svm; KVM is provided by the PVM module (kvm_pvm)")
        }
        return .emulated("no vmx/svm flag in /proc/cpuinfo")
    }

    public var isHardwareAssisted: Bool {
        if case .hardwareAssisted = self { return true }
        return false
    }

    public var summary: String {
        switch self {
        case .hardwareAssisted(let what): return "hardware-assisted: \(what)"
        case .emulated(let why): return "emulated: \(why)"
        }
    }

    /// What a user needs to know when a guest stops on an instruction KVM cannot emulate.
    public static let emulationAdvice = """
        This host has no hardware virtualization (no vmx/svm): KVM runs guests through \
        its instruction emulator, which cannot execute every instruction (SSE, x87, \
        xsave, int3, cmpxchg16b). A full Linux boot needs a host with VT-x or AMD-V, or a \
        guest kernel built with CONFIG_PVM_GUEST.
        """

    /// The words of /proc/cpuinfo's first "flags" line.
    private static func cpuFlags() -> Set<Substring> {
        guard let contents = HostIO.contents(of: "/proc/cpuinfo") else { return [] }
        let text = String(decoding: contents, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" }))
    }
}
