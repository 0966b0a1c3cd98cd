import Virtio

/// One `--net`: a virtio-net device and the backend its frames go through.
public struct NetworkConfiguration: Sendable, Equatable {
    /// Where the frames go.
    public enum Backend: Sendable, Equatable {
        /// A tap device of the host, by name: attached to, or created when SwiftVMM may.
        case tap(String)
        /// User-mode networking through passt: no privileges needed; `forwards` are
        /// host ports passed to the guest.
        case user(forwards: [PortForward])
    }

    /// A host port whose connections reach a guest port (passt's `-t`/`-u`).
    public struct PortForward: Sendable, Equatable {
        public enum Proto: String, Sendable, CaseIterable { case tcp, udp }
        public var proto: Proto
        public var hostPort: UInt16
        public var guestPort: UInt16

        /// `proto` connections to host port `hostPort` go to the guest's `guestPort`.
        public init(proto: Proto, hostPort: UInt16, guestPort: UInt16) {
            self.proto = proto
            self.hostPort = hostPort
            self.guestPort = guestPort
        }
    }

    public var backend: Backend
    /// The device's MAC address; nil for a stable one derived from the backend and the
    /// device's place (`MACAddress.stable`).
    public var mac: MACAddress?
    public var transport: VirtioTransport
    /// Whether the checksum and segmentation offloads are offered (tap only).
    public var offloads: Bool
    /// The MTU the device offers the driver (VIRTIO_NET_F_MTU, virtio v1.2 5.1.3).
    public var mtu: UInt16

    /// A network device over `backend`, as `--net` (or the API's network interface) asks.
    public init(
        backend: Backend, mac: MACAddress? = nil, transport: VirtioTransport = .pci, offloads: Bool = true,
        mtu: UInt16 = VirtioNet.defaultMTU
    ) {
        self.backend = backend
        self.mac = mac
        self.transport = transport
        self.offloads = offloads
        self.mtu = mtu
    }

    /// The address the n-th network device gets when none is given: the same for the
    /// same backend and place on every run.
    public func address(index: Int) -> MACAddress {
        if let mac { return mac }
        switch backend {
        case .tap(let name): return MACAddress.stable(seed: "tap:\(name)#\(index)")
        case .user: return MACAddress.stable(seed: "user#\(index)")
        }
    }
}
