import GuestMemory
import Synchronization
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// A raw disk image: byte n of the file is byte n of the disk. The file is a regular file
/// or a host block device (a partition, a loop device, an LVM volume), as every VMM
/// allows; a block device's size is what BLKGETSIZE64 says.
///
/// It is opened read-write (or read-only) and locked with flock(2), exclusively for a
/// writable disk and shared for a read-only one, without waiting: two VMs never write
/// the same image, and a second one is told which file is in use.
public final class RawDiskImage: Sendable {
    public let path: String
    public let size: UInt64
    /// Stable for as long as the file exists: its device and inode numbers, in hexadecimal
    /// (a block device's own device number, "blk-N").
    public let serial: String
    public let isReadOnly: Bool
    /// The open image, or -1 once closed. The machine closes it when it stops, after the
    /// last request and the final flush, so no transfer can race the close; one that came
    /// later would fail with EBADF rather than reach whatever file reused the number.
    private let descriptor: Atomic<Int32>
    private var fd: Int32 { descriptor.load(ordering: .acquiring) }

    /// Opens and locks the image at `path`; its size must be a positive multiple of
    /// `sectorSize` (a disk's capacity is a number of sectors). Errors name the file.
    public init(path: String, readOnly: Bool, sectorSize: UInt64) throws(HostFileError) {
        let (fd, info) = try HostFile.open(
            path, role: "disk", writable: !readOnly, blockDevices: true,
            notWritableHint: " (use readonly=on to open it read-only)")
        let isBlockDevice = info.st_mode & S_IFMT == S_IFBLK
        let size: UInt64
        if isBlockDevice {
            do {
                size = try HostIO.blockDeviceSize(fd)
            } catch {
                Glibc.close(fd)
                throw HostFileError(role: "disk", path: path, .cannotMeasure(error))
            }
        } else {
            size = UInt64(info.st_size)
        }
        guard size > 0, size % sectorSize == 0 else {
            Glibc.close(fd)
            throw HostFileError(role: "disk", path: path, .notWholeSectors(size: size, sectorSize: sectorSize))
        }
        guard flock(fd, (readOnly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            let error = Errno.current
            Glibc.close(fd)
            throw HostFileError(role: "disk", path: path, error.rawValue == EWOULDBLOCK ? .locked : .cannotLock(error))
        }
        self.descriptor = Atomic(fd)
        self.path = path
        self.size = size
        self.isReadOnly = readOnly
        // Stable for as long as the file exists: its device and inode numbers; a block
        // device's own device number.
        self.serial = isBlockDevice
            ? "blk-" + String(info.st_rdev, radix: 16)
            : String(info.st_dev, radix: 16) + "-" + String(info.st_ino, radix: 16)
    }

    deinit { close() }

    /// Closes the image, which also releases its lock: another VM may use it at once.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Reads with pread(2) straight into guest memory.
    public func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        try transfer("pread", count: count) { done throws(GuestMemoryError) in
            try memory.pread(fromFileDescriptor: fd, fileOffset: offset + UInt64(done),
                             into: GuestAddress(address.rawValue + UInt64(done)), count: count - done)
        }
    }

    /// Writes with pwrite(2) straight from guest memory.
    public func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        try transfer("pwrite", count: count) { done throws(GuestMemoryError) in
            try memory.pwrite(toFileDescriptor: fd, fileOffset: offset + UInt64(done),
                              from: GuestAddress(address.rawValue + UInt64(done)), count: count - done)
        }
    }

    /// fdatasync(2): every completed write on stable storage.
    public func flush() throws(SystemCallError) {
        let fd = self.fd
        guard fd >= 0 else { throw SystemCallError("fdatasync", Errno(EBADF)) }
        while fdatasync(fd) != 0 {
            let error = Errno.current
            guard error.rawValue == EINTR else { throw SystemCallError("fdatasync", error) }
        }
    }

    /// Repeats `step` (which transfers from byte `done` on) until `count` bytes moved;
    /// a short transfer is continued, end of file or an error is an I/O error.
    private func transfer(_ call: String, count: Int, _ step: (Int) throws(GuestMemoryError) -> Int) throws(SystemCallError) {
        guard fd >= 0 else { throw SystemCallError(call, Errno(EBADF)) }
        var done = 0
        while done < count {
            let result: Int
            do { result = try step(done) } catch { throw SystemCallError(call, Errno(EFAULT)) }
            if result < 0 {
                let error = Errno.current
                if error.rawValue == EINTR { continue }
                throw SystemCallError(call, error)
            }
            guard result > 0 else { throw SystemCallError(call, Errno(EIO)) }  // end of file: the image shrank
            done += result
        }
    }
}
