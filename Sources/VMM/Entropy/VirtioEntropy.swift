import Virtio

/// The machine's entropy device (`--rng`), at the place the machine's `VirtioPlacement`
/// gave it, for `VirtioDevices.install`: bytes from the host kernel (getrandom(2)) under
/// the rate limit the configuration asks for, served on the device's own thread, which
/// its rate limit's timer wakes.
enum VirtioEntropy {
    /// The device's name: "virtio-rng-pci0" or "virtio-rng-mmio0".
    static func name(transport: VirtioTransport) -> String { "virtio-rng-\(transport.rawValue)0" }

    /// The entropy device `configuration` asks for, at `place`, its events to `monitor`.
    static func device(
        _ configuration: RNGConfiguration, at place: VirtioPlacement.Place, monitor: PeripheralMonitor
    ) -> VirtioDevices.Installation {
        let wakeUps = VirtioWakeUpRelay()
        let device = VirtioRNG(
            name: name(transport: configuration.transport), source: HostEntropy(), rate: configuration.rate,
            burst: min(VirtioRNG.defaultBurst, configuration.rate), clock: { MonotonicClock.now() },
            wakeUps: wakeUps, observer: monitor)
        return .init(device: device, place: place, io: .thread, wakeUps: wakeUps)
    }
}
