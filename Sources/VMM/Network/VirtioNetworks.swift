import HostIO
import Virtio

/// The machine's network devices: their backends made ready before KVM is touched
/// (`prepare`: taps attached, passt started), then, at the places the machine's
/// `VirtioPlacement` gave them, a virtio-net device each for `VirtioDevices.install`
/// (`devices(at:)`). Every queue is served on the device's own thread (`VirtioService`),
/// woken by the guest's notifications and by its backend.
struct VirtioNetworks {
    let configurations: [NetworkConfiguration]
    let backends: [any HostNetBackend]

    /// Opens every backend. Touches no KVM state; every error names the input, and
    /// nothing is left open or running (a backend let go of closes its tap, stops passt).
    static func prepare(_ configurations: [NetworkConfiguration], tunPath: String) throws(MachineError) -> VirtioNetworks {
        var backends: [any HostNetBackend] = []
        for configuration in configurations {
            do {
                backends.append(try openBackend(configuration, tunPath: tunPath))
            } catch {
                throw .network(error)
            }
        }
        return VirtioNetworks(configurations: configurations, backends: backends)
    }

    /// How messages name a `--net`: "--net tap=tap0", "--net user".
    static func flag(_ configuration: NetworkConfiguration) -> String {
        switch configuration.backend {
        case .tap(let name): return "--net tap=\(name)"
        case .user: return PasstBackend.flag
        }
    }

    /// The backend of `configuration`: a tap attached, or passt started.
    static func openBackend(_ configuration: NetworkConfiguration, tunPath: String) throws(NetworkError) -> any HostNetBackend {
        let flag = flag(configuration)
        switch configuration.backend {
        case .tap(let name):
            do {
                return TapBackend(try TapDevice(name: name, controlPath: tunPath))
            } catch {
                throw NetworkError(error, flag: flag, name: name)
            }
        case .user(let forwards):
            for forward in forwards {
                if let error = HostIO.bindProblem(port: forward.hostPort, udp: forward.proto == .udp) {
                    throw .portUnavailable(flag: flag, proto: forward.proto.rawValue, port: forward.hostPort, error)
                }
            }
            return try PasstBackend.start(path: try PasstBackend.locate(), forwards: forwards)
        }
    }

    /// Each network device's name: "virtio-net-pci0", "virtio-net-mmio0", ... numbered
    /// among the network devices.
    static func name(index: Int, transport: VirtioTransport) -> String {
        "virtio-net-\(transport.rawValue)\(index)"
    }

    /// A virtio-net device per network, at `places` (one per network, in order), each
    /// with the wake-ups its service answers and its events to `monitor`.
    func devices(at places: some Sequence<VirtioPlacement.Place>, monitor: PeripheralMonitor) -> [VirtioDevices.Installation] {
        zip(zip(configurations, backends), places).enumerated().map { index, item in
            let ((configuration, backend), place) = item
            let wakeUps = VirtioWakeUpRelay(backend: VirtioService.Backend(
                fd: backend.fd, inputQueue: VirtioNet.receiveQueue, outputQueue: VirtioNet.transmitQueue))
            let device = VirtioNet(
                name: Self.name(index: index, transport: configuration.transport), mac: configuration.address(index: index),
                mtu: configuration.mtu, backend: backend, offloads: configuration.offloads, wakeUps: wakeUps, observer: monitor)
            return .init(device: device, place: place, io: .thread, wakeUps: wakeUps)
        }
    }

    /// What the machine does once every vCPU has stopped and the devices' services with
    /// them: passt is stopped.
    func stopBackends() {
        for case let passt as PasstBackend in backends { passt.stop() }
    }
}
