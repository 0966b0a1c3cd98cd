/// Where a network device's frames go and come from: a tap device, a user-mode network
/// (passt) over a socket, or a fake in tests. Calls never block: a backend that has
/// nothing to give or no room says so, and the device asks its `VirtioWakeUps` to be
/// served again when that changes.
public protocol NetBackend: AnyObject, Sendable {
    /// Whether each frame crosses with a virtio-net header in front (`NetHeader`), as
    /// a tap opened with IFF_VNET_HDR reads and writes them. Only then can the device
    /// offer the checksum and segmentation offloads.
    var passesHeader: Bool { get }

    /// Reads the next frame (with its header, when `passesHeader`) into `buffer` from
    /// index `offset` on, at most `buffer.count - offset` bytes.
    func receive(into buffer: inout [UInt8], at offset: Int) -> NetReceiveResult

    /// Sends one frame (with its header, when `passesHeader`). After `.busy` the device
    /// offers the same frame again once the backend is writable (a stream backend may
    /// have sent part of it, and finishes it then).
    func send(_ frame: ArraySlice<UInt8>) -> NetSendResult

    /// The driver takes received frames with these offloads: the backend may now hand
    /// over frames with partial checksums or segments of up to 64 KiB (TUNSETOFFLOAD).
    func enableReceiveOffloads(_ offloads: ReceiveOffloads)
}

extension NetBackend {
    /// By default nothing: a backend without headers never offloads.
    public func enableReceiveOffloads(_ offloads: ReceiveOffloads) {}
}

/// What `NetBackend.receive` found.
public enum NetReceiveResult: Sendable, Equatable {
    /// A frame of this many bytes (header included, when the backend passes one).
    case frame(Int)
    /// Nothing to read now.
    case empty
    /// The backend is gone or broken, for this reason; it will give nothing more.
    case failed(String)
}

/// What `NetBackend.send` did.
public enum NetSendResult: Sendable, Equatable {
    /// The frame is on its way.
    case sent
    /// No room now: the frame is not (wholly) sent; offer it again when the backend is
    /// writable.
    case busy
    /// The backend refused this frame (a tap's EINVAL for a header it cannot honour):
    /// it is dropped, and the link stays up.
    case rejected(String)
    /// The backend is gone or broken, for this reason.
    case failed(String)
}

/// Offloads on received frames the driver accepted (virtio v1.2, 5.1.3: GUEST_CSUM,
/// GUEST_TSO4, GUEST_TSO6).
public struct ReceiveOffloads: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    /// The offloads whose bits are set in `rawValue`.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Frames may come with a partial checksum (VIRTIO_NET_F_GUEST_CSUM).
    public static let checksum = ReceiveOffloads(rawValue: 1 << 0)
    /// TCP/IPv4 segments of up to 64 KiB (VIRTIO_NET_F_GUEST_TSO4).
    public static let tso4 = ReceiveOffloads(rawValue: 1 << 1)
    /// TCP/IPv6 segments of up to 64 KiB (VIRTIO_NET_F_GUEST_TSO6).
    public static let tso6 = ReceiveOffloads(rawValue: 1 << 2)

    /// The offloads `features` grant. Segmentation without checksums cannot be used
    /// (a segment's checksums are left to the receiver): only with GUEST_CSUM.
    public init(negotiated features: VirtioFeatures) {
        var offloads: ReceiveOffloads = []
        if features.contains(.netGuestChecksum) {
            offloads.insert(.checksum)
            if features.contains(.netGuestTSO4) { offloads.insert(.tso4) }
            if features.contains(.netGuestTSO6) { offloads.insert(.tso6) }
        }
        self = offloads
    }
}

/// Something that happened to a frame in a network device, for tracing and statistics.
public enum NetworkEvent: Sendable, Equatable {
    /// A frame of `bytes` (without the header) went to the backend.
    case transmitted(bytes: Int)
    /// A frame of `bytes` (without the header) went to the driver, over `buffers`
    /// receive buffers.
    case received(bytes: Int, buffers: Int)
    /// A frame or a buffer was dropped, for this reason.
    case dropped(NetworkDrop)
    /// The backend failed: the link is down from now on.
    case backendFailed(String)
}

/// Why a network device dropped a frame or returned a buffer unused.
public enum NetworkDrop: String, Sendable, Equatable, CaseIterable {
    /// A transmit chain shorter than the virtio-net header.
    case transmitShorterThanHeader = "tx-shorter-than-header"
    /// A transmit chain longer than the largest frame (`VirtioNet.maximumFrame`).
    case transmitTooLarge = "tx-too-large"
    /// A transmit header asking for what was not negotiated (`NetHeader.transmitProblem`).
    case transmitBadHeader = "tx-bad-header"
    /// The link is down: the backend failed.
    case linkDown = "link-down"
    /// The backend refused the frame.
    case backendRejected = "backend-rejected"
    /// A receive chain with fewer device-writable bytes than the header (read-only
    /// buffers among them): returned unused.
    case receiveBufferTooShort = "rx-buffer-too-short"
    /// A received frame larger than the driver's buffer (without MRG_RXBUF).
    case receiveFrameTooLarge = "rx-frame-too-large"
}
