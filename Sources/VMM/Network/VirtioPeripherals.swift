import Boot
import CUAPI
import Devices
import GuestMemory
import HostIO
import KVM
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// The machine's network and entropy devices: their backends opened (taps attached,
/// passt started) before any guest runs, their places after the disks', and once
/// installed, their devices on the buses and their services.
///
/// ```
///  transport  device                       registers and interrupt
///  pci        00:0n.0 after the disks      BAR 0 in the PCI window; MSI-X, or INTA#
///  mmio       after the disks' pages       4 KiB at virtioMMIODevices + i * 4 KiB,
///                                          ISA line virtioMMIOInterrupts[i]
/// ```
/// Every queue is served on the device's own thread (`DeviceService`).
struct VirtioPeripherals {
    /// A device and where it goes.
    struct Placed {
        enum Kind {
            case net(NetworkConfiguration, MACAddress, any NetBackend)
            case rng(RNGConfiguration)
        }
        let kind: Kind
        let name: String
        let transport: DiskConfiguration.Transport
        /// pci: the device number and BAR; mmio: the register page.
        let device: UInt8
        let barAddress: UInt32
        let base: GuestAddress
        let gsi: UInt32
    }

    let placed: [Placed]

    /// Opens every backend and gives each device its place, after `disks`. Touches no
    /// KVM state; every error names the input, and nothing is left open or running.
    static func prepare(
        networks: [NetworkConfiguration], rng: RNGConfiguration?, after disks: VirtioDisks, tunPath: String
    ) throws(MachineError) -> VirtioPeripherals {
        var pciCount = disks.pci.count, mmioCount = disks.mmio.count
        var placed: [Placed] = []
        func place(_ kind: Placed.Kind, prefix: String, transport: DiskConfiguration.Transport, index: Int, flag: String) throws(MachineError) {
            switch transport {
            case .pci:
                let limit = min(PCIBus.deviceCount - 1, Int(Layout.pciMMIOWindowSize / UInt64(VirtioPCILayout.barSize)))
                guard pciCount < limit else { throw .badInput("\(flag): no PCI slot left; at most \(limit) virtio-pci devices fit on PCI bus 0") }
                placed.append(Placed(
                    kind: kind, name: "\(prefix)-pci\(index)", transport: .pci, device: UInt8(pciCount + 1),
                    barAddress: UInt32(Layout.pciMMIOWindow.rawValue) + UInt32(pciCount) * VirtioPCILayout.barSize,
                    base: GuestAddress(0), gsi: Layout.pciInterrupts[pciCount % Layout.pciInterrupts.count]))
                pciCount += 1
            case .mmio:
                guard mmioCount < Layout.virtioMMIOInterrupts.count else {
                    throw .badInput("\(flag): no interrupt line left; at most \(Layout.virtioMMIOInterrupts.count) virtio-mmio devices have one")
                }
                placed.append(Placed(
                    kind: kind, name: "\(prefix)-mmio\(index)", transport: .mmio, device: 0, barAddress: 0,
                    base: GuestAddress(Layout.virtioMMIODevices.rawValue + UInt64(mmioCount) * Layout.virtioMMIODeviceSize),
                    gsi: Layout.virtioMMIOInterrupts[mmioCount]))
                mmioCount += 1
            }
        }
        for (index, network) in networks.enumerated() {
            let flag = Self.flag(network)
            let backend = try openBackend(network, flag: flag, tunPath: tunPath)
            try place(.net(network, network.address(index: index), backend), prefix: "virtio-net", transport: network.transport, index: index, flag: flag)
        }
        if let rng { try place(.rng(rng), prefix: "virtio-rng", transport: rng.transport, index: 0, flag: "--rng") }
        return VirtioPeripherals(placed: placed)
    }

    static func flag(_ network: NetworkConfiguration) -> String {
        switch network.backend {
        case .tap(let name): return "--net tap=\(name)"
        case .user: return "--net user"
        }
    }

    /// The backend of `network`: a tap attached, or passt started, with a message for
    /// whatever stands in the way.
    static func openBackend(_ network: NetworkConfiguration, flag: String, tunPath: String) throws(MachineError) -> any NetBackend {
        switch network.backend {
        case .tap(let name):
            do {
                return TapBackend(try TapDevice(name: name, controlPath: tunPath))
            } catch {
                throw describe(error, flag: flag, name: name)
            }
        case .user(let forwards):
            for forward in forwards {
                if let error = HostIO.bindProblem(port: forward.hostPort, udp: forward.proto == .udp) {
                    throw .badInput("\(flag): host \(forward.proto.rawValue) port \(forward.hostPort) cannot be forwarded: \(HostIO.describe(error))")
                }
            }
            return try PasstBackend.start(path: try PasstBackend.locate(), forwards: forwards)
        }
    }

    /// The message for a tap that cannot be opened: status 4 when the host's tun device
    /// is missing or out of reach, 2 when the named interface is the problem.
    static func describe(_ error: TapDevice.OpenError, flag: String, name: String) -> MachineError {
        switch error {
        case .cannotOpenControl(let path, let errno):
            let hint = errno == EACCES || errno == EPERM
                ? ": a tap needs root, or read and write access to \(path) and a tap this user owns (ip tuntap add dev \(name) mode tap user USER)"
                : errno == ENOENT ? ": the host has no tun/tap driver (modprobe tun)" : ""
            return .setup("\(flag): cannot open \(path): \(HostIO.describe(errno))\(hint)")
        case .cannotAttach(_, let errno) where errno == EPERM:
            return .badInput("\(flag): tap \(name) does not exist and this user may not create it: create it with ip tuntap add dev \(name) mode tap user USER")
        case .cannotAttach(_, let errno) where errno == EBUSY:
            return .badInput("\(flag): tap \(name) is in use by another program")
        case .cannotAttach(_, let errno):
            return .badInput("\(flag): cannot attach to tap \(name): \(HostIO.describe(errno)) (is it a tap device, opened with vnet headers?)")
        case .setupFailed(let ioctl, let errno):
            return .setup("\(flag): \(ioctl) failed: \(HostIO.describe(errno))")
        }
    }

    /// The virtio-mmio devices, for the ACPI tables (edge-triggered: their interrupts are pulses).
    var acpiMMIODevices: [ACPIPlatform.VirtioMMIODevice] {
        placed.filter { $0.transport == .mmio }.map { .init(address: $0.base, gsi: $0.gsi, trigger: .edge) }
    }

    /// INTA# routes of the virtio-pci devices, for the ACPI tables.
    var acpiPCIRoutes: [ACPIPlatform.PCIRoute] {
        placed.filter { $0.transport == .pci }.map { .init(device: $0.device, pin: 0, gsi: $0.gsi) }
    }

    /// `virtio_mmio.device=` for each virtio-mmio device (see `VirtioDisks`).
    var commandLineOptions: [String] {
        placed.filter { $0.transport == .mmio }.map {
            "virtio_mmio.device=\(Layout.virtioMMIODeviceSize >> 10)K@0x\(String($0.base.rawValue, radix: 16)):\($0.gsi)"
        }
    }
}

extension VirtioPeripherals {
    /// `platform` (the disks' devices) with these devices added: their INTA# routes and
    /// their virtio-mmio entries in the DSDT.
    func platform(adding platform: ACPIPlatform) -> ACPIPlatform {
        var platform = platform
        platform.pciHostBridge?.routes += acpiPCIRoutes
        platform.virtioMMIODevices += acpiMMIODevices
        return platform
    }
}

extension VirtioPeripherals.Installed {
    /// What the machine does for these devices once every vCPU has stopped: stop each
    /// service (no frame moves after), then stop passt.
    var flushes: [DeviceFlush] {
        let services = services, stops = stops
        return [DeviceFlush(device: "network and entropy devices") {
            for service in services { service.stop() }
            for stop in stops { stop() }
        }]
    }
}
