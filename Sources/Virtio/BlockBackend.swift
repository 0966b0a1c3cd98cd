import GuestMemory

/// Where a block device's bytes live: a raw image file for a real machine, a fake that
/// fails on demand for tests. Transfers go straight between the backend and guest
/// memory; every range has been checked against guest RAM and the disk's size before
/// it gets here.
public protocol BlockBackend: Sendable {
    /// The disk's size in bytes (a multiple of `VirtioBlock.sectorSize`).
    var size: UInt64 { get }
    /// A stable identifier of the backing image, for VIRTIO_BLK_T_GET_ID.
    var serial: String { get }
    /// Copies `count` bytes at byte `offset` of the disk into guest memory at `address`.
    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(BlockIOError)
    /// Copies `count` bytes of guest memory at `address` to byte `offset` of the disk.
    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(BlockIOError)
    /// Makes every completed write durable (fdatasync).
    func flush() throws(BlockIOError)
    /// Lets go of the storage (a file's descriptor and lock) once the device is done with
    /// it; later transfers fail.
    func close()
}

extension BlockBackend {
    /// By default nothing: a backend without host resources has none to let go of.
    public func close() {}
}

/// A host I/O failure. The device reports it to the guest as VIRTIO_BLK_S_IOERR.
public struct BlockIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let errno: Int32

    /// A failure of `operation` (a system call's name) with `errno`.
    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation) failed (errno \(errno))" }
}
