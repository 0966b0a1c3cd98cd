import Boot
import GuestMemory
import HostIO

/// The kernel loaders: any file as `--kernel`, with an initrd size and a command line,
/// planned into a small guest. Files starting like an ELF image or a bzImage reach the
/// ELF and bzImage parsers; the corpus holds the test guest in both formats.
///
/// Invariants when a plan is made: every write lies inside guest RAM, no two writes
/// overlap, the initrd lies in RAM above the kernel and overlaps no write, and the
/// entry point lies inside the kernel's footprint.
enum KernelLoaderTarget: FuzzTarget {
    static let name = "kernel"
    static let ramSize: UInt64 = 32 << 20

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let initrdSize: UInt64? = input.bool() ? UInt64(input.integer(UInt32.self)) : nil
        let commandLine = String(decoding: input.bytes(Int(input.byte())), as: UTF8.self)
        let file = input.rest()
        guard let plan = try? BootPlan.plan(
            kernel: file, initrdSize: initrdSize, commandLine: commandLine, ramSize: ramSize)
        else { return }

        let regions = Layout.ramRegions(ramSize: ramSize)
        func inRAM(_ start: UInt64, _ length: UInt64) -> Bool {
            regions.contains { start >= $0.start.rawValue && length <= $0.size && start - $0.start.rawValue <= $0.size - length }
        }
        var ranges: [(start: UInt64, end: UInt64, what: String)] = []
        for write in plan.writes {
            let start = write.address.rawValue, length = UInt64(write.bytes.count)
            require(inRAM(start, length), "\(write.what) at \(write.address) (\(length) bytes) is in RAM")
            ranges.append((start, start + length, write.what))
        }
        if let initrd = plan.initrd {
            require(inRAM(initrd.address.rawValue, initrd.size), "the initrd is in RAM")
            require(initrd.address >= plan.kernelEnd, "the initrd lies above the kernel")
            ranges.append((initrd.address.rawValue, initrd.address.rawValue + initrd.size, "initrd"))
        }
        ranges.sort { $0.start < $1.start }
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            require(a.end <= b.start, "\(a.what) and \(b.what) do not overlap")
        }
        let kernelStart = plan.writes.filter { $0.what == "kernel" }.map(\.address.rawValue).min() ?? 0
        require(plan.cpu.rip >= kernelStart && plan.cpu.rip < plan.kernelEnd.rawValue, "the entry is inside the kernel")
    }
}

extension KernelLoaderTarget {
    /// The project's test guest as an ELF image and as a bzImage, each with and without
    /// an initrd, with a short command line.
    static var seeds: [[UInt8]] {
        ["testguest.elf", "testguest.img"].flatMap { name -> [[UInt8]] in
            guard let file = HostIO.contents(of: repositoryRoot + "/guest-images/testguest/" + name) else { return [] }
            return [false, true].map { withInitrd in
                var builder = FuzzInputBuilder()
                builder.bool(withInitrd)
                if withInitrd { builder.integer(UInt32(1 << 20)) }
                let commandLine = Array("console=ttyS0".utf8)
                builder.byte(UInt8(commandLine.count))
                builder.append(commandLine)
                builder.append(file)
                return builder.bytes
            }
        }
    }
}
