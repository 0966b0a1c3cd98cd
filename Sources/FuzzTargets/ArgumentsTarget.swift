import SwiftVMMCommand

/// The command line: arbitrary arguments (NUL-separated in the input) to `swiftvmm`,
/// and arbitrary text as a `--memory` size.
///
/// Invariants: a parsed size is a whole, non-zero number of MiB no larger than the
/// limit; a parsed `run` has at least one vCPU, non-empty file paths and markers, and a
/// positive, finite timeout.
enum ArgumentsTarget: FuzzTarget {
    static let name = "arguments"

    static func run(_ bytes: [UInt8]) {
        let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        if case .run(let configuration, let options)? = try? Arguments.parse(arguments) {
            require(configuration.vcpuCount >= 1, "at least one vCPU")
            if let timeout = options.timeout { require(timeout.isFinite && timeout > 0, "a positive, finite --timeout") }
            if let path = options.traceFile { require(!path.isEmpty, "a trace file path is not empty") }
            if let marker = options.expect { require(!marker.isEmpty, "an --expect string is not empty") }
            require(configuration.memorySize > 0 && configuration.memorySize % (1 << 20) == 0, "whole MiB of RAM")
            if case .file(let path) = configuration.kernel { require(!path.isEmpty, "a kernel path is not empty") }
            require(configuration.disks.allSatisfy { !$0.path.isEmpty }, "disk paths are not empty")
        }
        for text in arguments.prefix(4) {
            if let size = try? MemorySize.parse(text) {
                require(size > 0 && size % (1 << 20) == 0, "\(text): a whole, non-zero number of MiB")
                require(size >> 20 <= MemorySize.maximumMiB, "\(text): no more than the limit")
            }
        }
    }
}

extension ArgumentsTarget {
    /// Every flag of `run` with a good value, and sizes in each spelling.
    static var seeds: [[UInt8]] {
        let runs: [[String]] = [
            ["run", "--kernel", "/boot/vmlinuz", "--initrd=/boot/initrd.img", "--cmdline", "console=ttyS0",
             "--memory", "2G", "--cpus", "4", "--disk", "a.img,readonly=on,transport=mmio,io=thread", "--disk", "b.img"],
            ["512M", "1024", "2GiB", "1g"],
            ["host"],
        ]
        return runs.map { arguments in Array(arguments.map { Array($0.utf8) }.joined(separator: [0])) }
    }
}
