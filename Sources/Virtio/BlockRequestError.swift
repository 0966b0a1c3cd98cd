import CUAPI
import GuestMemory
import SystemErrors

/// Why a block request was not done, or not done whole, and what the driver is told:
/// each reason knows its VIRTIO_BLK_S_* status (virtio v1.2, 5.2.6), as crosvm's
/// `ExecuteError::status()` does. Parsing finds most of them (`BlockRequest.parse`);
/// executing, only the host's I/O errors.
public enum BlockRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The chain has no device-writable byte for the status: it goes back with nothing
    /// written.
    case noStatusByte
    /// The device-readable bytes are fewer than the 16-byte header.
    case headerTooShort(readableBytes: UInt64)
    /// A type the device does not execute.
    case unsupportedType(UInt32)
    /// Data that is not a whole number of 512-byte sectors (5.2.6.2).
    case notWholeSectors(bytes: UInt64)
    /// Sectors past the end of the disk.
    case pastEnd(sector: UInt64, sectors: UInt64, capacity: UInt64)
    /// A write to a disk offered read-only (VIRTIO_BLK_F_RO, 5.2.6.2).
    case readOnly
    /// A buffer the ring checked was refused by guest memory (a bug, not the guest's doing).
    case guestMemory(GuestMemoryError)
    /// The host's read, write or flush failed.
    case hostIO(SystemCallError)

    /// The status the driver gets.
    public var status: UInt8 {
        switch self {
        case .unsupportedType: return UInt8(VIRTIO_BLK_S_UNSUPP)
        case .noStatusByte, .headerTooShort, .notWholeSectors, .pastEnd, .readOnly, .guestMemory, .hostIO:
            return UInt8(VIRTIO_BLK_S_IOERR)
        }
    }

    /// One word for a trace line's `reason=` field.
    public var reason: String {
        switch self {
        case .noStatusByte: return "no-status-byte"
        case .headerTooShort: return "short-header"
        case .unsupportedType: return "unsupported-type"
        case .notWholeSectors: return "partial-sector"
        case .pastEnd: return "past-end"
        case .readOnly: return "read-only"
        case .guestMemory: return "guest-memory"
        case .hostIO: return "host-io"
        }
    }

    public var description: String {
        switch self {
        case .noStatusByte: return "the chain has no device-writable byte for the status"
        case .headerTooShort(let bytes): return "\(bytes) device-readable bytes, fewer than the 16-byte header"
        case .unsupportedType(let type): return "request type \(type) is not supported"
        case .notWholeSectors(let bytes): return "\(bytes) bytes of data is not a whole number of sectors"
        case .pastEnd(let sector, let sectors, let capacity):
            return "\(sectors) sectors from sector \(sector) reach past the disk's \(capacity)"
        case .readOnly: return "a write to a read-only disk"
        case .guestMemory(let error): return error.description
        case .hostIO(let error): return error.description
        }
    }
}
