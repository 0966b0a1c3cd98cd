import CUAPI

/// Receives what happens inside a virtio device, as it happens: the driver's queue
/// notifications, the requests served, the interrupts sent and the device status
/// changes. The machine uses it for tracing and statistics; nothing in the Virtio layer
/// depends on anyone listening.
///
/// Events arrive on whichever thread serves the device (a vCPU thread, or a disk's I/O
/// thread), perhaps with the device's register lock held: an observer must be quick and
/// must not call back into the device. It is an object: the devices and queue handlers
/// that tell it share the one.
public protocol VirtioObserver: AnyObject, Sendable {
    /// `event` happened in the device named `device` ("virtio-blk-pci0").
    func observe(_ event: VirtioEvent, device: String)
}

/// One thing that happened inside a virtio device.
public enum VirtioEvent: Sendable, Equatable {
    /// The driver sent an available buffer notification for queue `queue` (virtio v1.2,
    /// 2.7.13.3), by a register write or through its ioeventfd.
    case queueNotified(queue: Int)
    /// A block request from queue `queue` was executed (5.2.6).
    case blockRequest(queue: Int, BlockRequestRecord)
    /// The device notified the driver (2.3, 2.7.7), the way `route` says.
    case interruptSent(VirtioInterrupt, route: VirtioInterruptRoute)
    /// The device status field changed (2.1), by a driver write, a reset (0) or the
    /// device setting DEVICE_NEEDS_RESET.
    case statusChanged(from: DeviceStatus, to: DeviceStatus)
}

/// How a transport delivered a `VirtioInterrupt`.
public enum VirtioInterruptRoute: Sendable, Equatable {
    /// virtio-mmio: an edge on the device's interrupt line, InterruptStatus saying why
    /// (virtio v1.2, 4.2.3.4).
    case line
    /// virtio-pci with MSI-X off: ISR status set and INTA# asserted (4.1.4.5).
    case intx
    /// virtio-pci with MSI-X on: the message of table entry `vector` was sent (4.1.5.1.2).
    case msix(vector: UInt16)
    /// virtio-pci with MSI-X on, the entry or the function masked: the message waits in
    /// the Pending Bit Array (PCI Local Bus 3.0, 6.8.2.9).
    case msixPending(vector: UInt16)
    /// virtio-pci with MSI-X on and VIRTIO_MSI_NO_VECTOR assigned: no interrupt at all
    /// (4.1.5.1.2).
    case noVector
}

/// A block request as the device executed it: its type, where on the disk, how many
/// data bytes moved, the status returned, and why it failed if it did (virtio v1.2, 5.2.6).
public struct BlockRequestRecord: Sendable, Equatable {
    /// VIRTIO_BLK_T_*: IN (0) reads the disk into the guest, OUT (1) writes it; nil when
    /// the request had no header to read.
    public let type: UInt32?
    /// The first 512-byte sector, when the header was read.
    public let sector: UInt64?
    /// Data bytes moved between the disk and guest memory (not the header, the status
    /// or a GET_ID answer); for a failed transfer, the bytes moved before it failed.
    public let dataBytes: UInt64
    /// VIRTIO_BLK_S_*: OK (0), IOERR (1), UNSUPP (2).
    public let status: UInt8
    /// Why the request was not done, or not done whole.
    public let failure: BlockRequestError?

    /// A record of a request of `type` at `sector` that moved `dataBytes` and ended with
    /// `status`, for `failure` if it failed.
    public init(type: UInt32?, sector: UInt64?, dataBytes: UInt64, status: UInt8, failure: BlockRequestError? = nil) {
        self.type = type
        self.sector = sector
        self.dataBytes = dataBytes
        self.status = status
        self.failure = failure
    }

    /// True for a read of the disk (VIRTIO_BLK_T_IN): data went to the guest.
    public var isRead: Bool { type == UInt32(VIRTIO_BLK_T_IN) }
    /// True for a write of the disk (VIRTIO_BLK_T_OUT): data came from the guest.
    public var isWrite: Bool { type == UInt32(VIRTIO_BLK_T_OUT) }

    /// The type's name in the specification, without its VIRTIO_BLK_T_ prefix.
    public var typeName: String {
        guard let type else { return "none" }
        switch Int32(truncatingIfNeeded: type) {
        case VIRTIO_BLK_T_IN: return "IN"
        case VIRTIO_BLK_T_OUT: return "OUT"
        case VIRTIO_BLK_T_FLUSH: return "FLUSH"
        case VIRTIO_BLK_T_GET_ID: return "GET_ID"
        default: return "type-\(type)"
        }
    }

    /// The status's name in the specification, without its VIRTIO_BLK_S_ prefix.
    public var statusName: String {
        switch Int32(status) {
        case VIRTIO_BLK_S_OK: return "OK"
        case VIRTIO_BLK_S_IOERR: return "IOERR"
        case VIRTIO_BLK_S_UNSUPP: return "UNSUPP"
        default: return "status-\(status)"
        }
    }
}
