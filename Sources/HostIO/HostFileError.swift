import SystemErrors

/// Why a file the user named cannot be used: a kernel, an initrd, a disk image, a report
/// file, a socket to create. The message names the file and says what is wrong with it:
/// `initrd /tmp/x: cannot open: No such file or directory (ENOENT)`.
public struct HostFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong with the file.
    public enum Problem: Equatable, Sendable {
        /// open(2) failed; `hint` (perhaps empty) ends the message.
        case cannotOpen(Errno, hint: String)
        /// fstat(2) failed.
        case cannotStat(Errno)
        /// A directory, a FIFO, a device: not a regular file.
        case notRegularFile
        /// A directory, a FIFO, a character device: not a disk image, which is a regular
        /// file or a block device.
        case notRegularFileOrBlockDevice
        /// A block device whose size could not be read (BLKGETSIZE64).
        case cannotMeasure(SystemCallError)
        /// Larger than the `limit` bytes it must fit in (guest RAM, for a kernel).
        case tooLarge(size: UInt64, limit: UInt64)
        /// The file ended at byte `offset` of the `size` fstat(2) gave: it changed under us.
        case endedEarly(offset: UInt64, size: UInt64)
        /// A read failed.
        case readFailed(Errno)
        /// A disk image whose size is not a positive multiple of its sector size.
        case notWholeSectors(size: UInt64, sectorSize: UInt64)
        /// flock(2) found the image locked by another process (another VM).
        case locked
        /// flock(2) failed for another reason.
        case cannotLock(Errno)
        /// A Unix socket could not be made to listen at the path (a socket the user named,
        /// such as vsock's `uds_path`).
        case cannotListen(UnixSocket.Error)
    }

    /// What the file is for, as messages name it: "kernel", "initrd", "disk", "--trace-file".
    public let role: String
    public let path: String
    public let problem: Problem

    /// The file at `path`, used as `role`, has `problem`.
    public init(role: String, path: String, _ problem: Problem) {
        self.role = role
        self.path = path
        self.problem = problem
    }

    public var description: String {
        let what: String
        switch problem {
        case .cannotOpen(let errno, let hint): what = "cannot open: \(errno)\(hint)"
        case .cannotStat(let errno): what = "cannot stat: \(errno)"
        case .notRegularFile: what = "not a regular file"
        case .notRegularFileOrBlockDevice: what = "not a regular file or block device"
        case .cannotMeasure(let error): what = "\(error)"
        case .tooLarge(let size, let limit):
            what = "\(size) bytes, more than the \(limit >> 20) MiB of guest RAM it must fit in"
        case .endedEarly(let offset, let size):
            what = "the file ended at byte \(offset) of \(size); it changed while being read"
        case .readFailed(let errno): what = "read failed: \(errno)"
        case .notWholeSectors(let size, let sectorSize):
            what = "its size, \(size) bytes, is not a positive multiple of \(sectorSize)"
        case .locked: what = "in use by another VM or another --disk (the image is locked)"
        case .cannotLock(let errno): what = "cannot lock: \(errno)"
        case .cannotListen(let error): what = "cannot listen there: \(error)"
        }
        return "\(role) \(path): \(what)"
    }
}
