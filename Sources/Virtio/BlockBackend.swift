import GuestMemory
import SystemErrors

/// Where a block device's bytes live: a raw image file for a real machine, a fake that
/// fails on demand for tests. Transfers go straight between the backend and guest
/// memory; every range has been checked against guest RAM and the disk's size before
/// it gets here. A failure is the system call's (`SystemCallError`), and the device
/// answers it with VIRTIO_BLK_S_IOERR. A backend is an object, which the device and its
/// queue's handler share.
public protocol BlockBackend: AnyObject, Sendable {
    /// The disk's size in bytes (a multiple of `VirtioBlock.sectorSize`).
    var size: UInt64 { get }
    /// A stable identifier of the backing image, for VIRTIO_BLK_T_GET_ID (the device
    /// sends its first `VirtioBlock.serialLength` bytes).
    var serial: String { get }
    /// Copies `count` bytes at byte `offset` of the disk into guest memory at `address`.
    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError)
    /// Copies `count` bytes of guest memory at `address` to byte `offset` of the disk.
    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError)
    /// Makes every completed write durable (fdatasync).
    func flush() throws(SystemCallError)
    /// Lets go of the storage (a file's descriptor and lock) once the device is done with
    /// it; later transfers fail.
    func close()
}

extension BlockBackend {
    /// By default nothing: a backend without host resources has none to let go of.
    public func close() {}
}
