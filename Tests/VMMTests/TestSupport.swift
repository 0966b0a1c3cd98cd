import Devices
import Dispatch
import KVM
import Locking
import VMM
#if canImport(Glibc)
import Glibc
#endif

/// Where the repository is, found from this file's path.
enum Repository {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    static let testGuestELF = root + "/guest-images/testguest/testguest.elf"
    static let testGuestImage = root + "/guest-images/testguest/testguest.img"
}

/// Whether /dev/kvm can be used here, and if not, why (printed as the skip reason).
enum KVMAvailability {
    static let problem: String? = {
        do {
            let system = try KVMSystem()
            try system.requireCapabilities()
            return nil
        } catch {
            let reason = "skipped: /dev/kvm cannot be used here: \(error)"
            print(reason)
            return reason
        }
    }()

    static var available: Bool { problem == nil }
    static var reason: Comment { Comment(rawValue: problem ?? "") }
}

/// Collects a guest's serial output.
final class CapturedOutput: ByteSink {
    private let bytes = Locked<[UInt8]>([])

    func write(_ new: [UInt8]) { bytes.withLock { $0.append(contentsOf: new) } }

    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
}

import Testing

/// Boots a guest and returns its console output and how it stopped.
func boot(
    _ kernel: String = Repository.testGuestELF, commandLine: String = "console=ttyS0",
    memory: UInt64 = 64 << 20, vcpus: Int = 1, inputFD: Int32? = nil, disks: [DiskConfiguration] = [],
    whileRunning: (@Sendable (Machine) -> Void)? = nil
) throws -> (output: String, report: MachineReport) {
    let output = CapturedOutput()
    let console = Console(output: output, inputFD: inputFD)
    let configuration = MachineConfiguration(
        kernel: .file(kernel), commandLine: commandLine, memorySize: memory, vcpuCount: vcpus, disks: disks)
    let machine = try Machine.build(configuration, console: console)
    if let whileRunning {
        DispatchQueue(label: "test.while-running").async { whileRunning(machine) }
    }
    let report = machine.run()
    return (output.text, report)
}
