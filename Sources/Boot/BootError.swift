/// Why a kernel, initrd or command line cannot be booted. The caller prefixes the
/// file's path: "kernel /boot/vmlinuz: not a Linux kernel: ...".
public enum BootError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAKernel
    case truncated(String)
    case unsupportedProtocol(String)
    case unsupportedELF(String)
    case segmentOutsideFile(index: Int)
    case segmentOutsideRAM(index: Int, start: UInt64, end: UInt64)
    case imageLargerThanMemory(needed: UInt64, available: UInt64)
    case entryOutsideImage(UInt64)
    case commandLineTooLong(length: Int, limit: Int)
    case initrdTooLarge(size: UInt64, room: UInt64)
    /// An initrd of 0 bytes: the zero page would say there is none (ramdisk_size 0).
    case emptyInitrd
    case acpiTablesTooLarge(vcpuCount: Int, size: UInt64, capacity: UInt64)

    /// True when the problem is the machine's size (`--cpus`), not a file's.
    public var concernsMachine: Bool {
        if case .acpiTablesTooLarge = self { return true }
        return false
    }

    /// True when the problem is the initrd's, so the initrd's path should be named.
    public var concernsInitrd: Bool {
        switch self {
        case .initrdTooLarge, .emptyInitrd: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .notAKernel:
            return "not a Linux kernel: neither an ELF image nor a bzImage (no 0xAA55 boot flag and \"HdrS\" header)"
        case .truncated(let what):
            return "truncated: \(what)"
        case .unsupportedProtocol(let why):
            return "unsupported bzImage: \(why)"
        case .unsupportedELF(let why):
            return "unsupported ELF image: \(why)"
        case .segmentOutsideFile(let index):
            return "ELF program header \(index) points past the end of the file"
        case .segmentOutsideRAM(let index, let start, let end):
            return "ELF segment \(index) at 0x\(String(start, radix: 16))-0x\(String(end, radix: 16)) "
                + "is not inside guest RAM above 1 MiB (try a larger --memory?)"
        case .imageLargerThanMemory(let needed, let available):
            return "the kernel needs \(needed >> 20) MiB from 1 MiB up, but guest RAM below the "
                + "MMIO hole has \(available >> 20) MiB there; give it more --memory"
        case .entryOutsideImage(let entry):
            return "the ELF entry point 0x\(String(entry, radix: 16)) is not inside any loaded segment"
        case .commandLineTooLong(let length, let limit):
            return "the command line is \(length) bytes; this kernel accepts at most \(limit)"
        case .initrdTooLarge(let size, let room):
            return "the initrd (\(size >> 20) MiB) does not fit: \(room >> 20) MiB of RAM is free "
                + "between the kernel and the initrd limit; give the guest more --memory"
        case .emptyInitrd:
            return "the file is empty; the kernel would boot as if it had no initrd"
        case .acpiTablesTooLarge(let vcpuCount, let size, let capacity):
            return "--cpus \(vcpuCount): the ACPI tables for that many vCPUs need at least \(size) bytes, "
                + "more than the \(capacity) bytes reserved for them"
        }
    }
}
