import Boot
import Devices
import GuestMemory
import HostIO
import KVM

/// Why a machine could not be built. Nothing runs when one of these is thrown, and
/// everything already created (VM, memory, vCPUs) is released. Each case holds the
/// error of the layer that found the problem, so a caller can tell what went wrong
/// without reading the message.
public enum MachineError: Error, Sendable, CustomStringConvertible {
    /// A file the user named cannot be used: a kernel, an initrd, a disk image, a report file.
    case file(HostFileError)
    /// The kernel, the initrd or the command line cannot be booted as given. `kernel`
    /// names the kernel as messages do ("kernel /boot/vmlinuz", "demo guest"); `initrd`
    /// is the initrd's path, if there is one.
    case boot(BootError, kernel: String, initrd: String?)
    /// A size or count the user gave does not fit this machine or this host.
    case configuration(ConfigurationError)
    /// The host's KVM refused something while the machine was being built.
    case host(KVMError)
    /// Guest RAM could not be mapped, or the initrd could not be read into it.
    case guestRAM(GuestMemoryError)
    /// Two devices were placed at overlapping addresses: a bug in the machine builder.
    case devicePlacement(IOBus.OverlapError)
    /// A network device's backend could not be made ready (a tap, passt).
    case network(NetworkError)

    public var description: String {
        switch self {
        case .file(let error): return error.description
        case .boot(let error, let kernel, let initrd):
            if error.concernsMachine { return error.description }
            if error.concernsInitrd, let initrd { return "initrd \(initrd): \(error)" }
            return "\(kernel): \(error)"
        case .configuration(let error): return error.description
        case .host(let error): return error.description
        case .guestRAM(let error): return "guest RAM: \(error)"
        case .devicePlacement(let error): return "cannot place devices: \(error)"
        case .network(let error): return error.description
        }
    }

    /// The process exit status for this error.
    public var exitStatus: Int32 {
        switch self {
        case .file, .boot, .configuration: return ExitStatus.badInput
        case .host, .guestRAM, .devicePlacement: return ExitStatus.hostError
        case .network(let error): return error.concernsInput ? ExitStatus.badInput : ExitStatus.hostError
        }
    }
}

/// A size or count the user asked for that this machine or this host cannot have.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--memory` below the least RAM a machine needs.
    case memoryTooSmall(size: UInt64, minimum: UInt64)
    /// `--memory` above the host's own RAM.
    case memoryAboveHost(size: UInt64, host: UInt64)
    /// `--cpus` outside what this host's KVM allows.
    case vcpuCount(Int, maximum: Int)
    /// More virtio-pci devices (disks, vsock, network and entropy devices) than PCI bus 0
    /// has room for.
    case tooManyPCIDevices(Int, limit: Int)
    /// More virtio-mmio devices than there are interrupt lines for them.
    case tooManyMMIODevices(Int, limit: Int)
    /// `--vsock` beside as many virtio-pci disks as PCI bus 0 has room for.
    case noPCISlotForVsock(disks: Int, limit: Int)

    public var description: String {
        switch self {
        case .memoryTooSmall(let size, let minimum):
            return "--memory \(size >> 20)M: at least \(minimum >> 20) MiB is needed"
        case .memoryAboveHost(let size, let host):
            return "--memory \(size >> 20)M: more than this host's \(host >> 20) MiB of RAM"
        case .vcpuCount(let count, let maximum):
            return "--cpus \(count): this host allows 1 to \(maximum) vCPUs"
        case .tooManyPCIDevices(let count, let limit):
            return "--disk, --vsock, --net, --rng: \(count) virtio-pci devices; at most \(limit) fit on PCI bus 0"
        case .tooManyMMIODevices(let count, let limit):
            return "--disk, --net, --rng: \(count) virtio-mmio devices; at most \(limit) have an interrupt line"
        case .noPCISlotForVsock(let disks, let limit):
            return "--vsock: no room on PCI bus 0 after \(disks) virtio-pci disks; at most \(limit) devices fit"
        }
    }
}
