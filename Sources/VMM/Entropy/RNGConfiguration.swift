import Virtio

/// `--rng`: a virtio entropy device.
public struct RNGConfiguration: Sendable, Equatable {
    public var transport: VirtioTransport
    /// Bytes a second the guest may read (`VirtioRNG.defaultRate` unless given), in
    /// bursts of at most a second's worth (and `VirtioRNG.defaultBurst`).
    public var rate: UInt64

    /// An entropy device on `transport`, limited to `rate` bytes a second.
    public init(transport: VirtioTransport = .pci, rate: UInt64 = VirtioRNG.defaultRate) {
        self.transport = transport
        self.rate = rate
    }
}
