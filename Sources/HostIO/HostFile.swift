import GuestMemory
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// Opening and reading the user's input files, with errors that name the file and the
/// problem (`HostFileError`).
public enum HostFile {
    /// The whole file as bytes (a kernel image: a few MiB), refused before any memory is
    /// spent on it when it is larger than `limit` bytes (the guest RAM it must fit in).
    public static func readAll(_ path: String, role: String, limit: UInt64) throws(HostFileError) -> [UInt8] {
        let (fd, info) = try open(path, role: role)
        defer { close(fd) }
        let size = UInt64(info.st_size)
        guard size <= limit else { throw HostFileError(role: role, path: path, .tooLarge(size: size, limit: limit)) }
        do {
            return try HostIO.readAll(fd, size: Int(size))
        } catch {
            switch error {
            case .endedAt(let offset):
                throw HostFileError(role: role, path: path, .endedEarly(offset: UInt64(offset), size: size))
            case .failed(let errno):
                throw HostFileError(role: role, path: path, .readFailed(errno))
            }
        }
    }

    /// Reads `count` bytes of `fd`, from its current position, straight into guest memory
    /// at `address` (an initrd: tens of MiB, not worth a copy). The range was planned
    /// inside guest RAM; a file that ends early has changed since fstat(2) measured it.
    public static func read(
        _ fd: Int32, count: UInt64, into memory: GuestMemory, at address: GuestAddress, role: String, path: String
    ) throws(HostFileError) {
        var done: UInt64 = 0
        while done < count {
            let chunk = Int(min(count - done, chunkSize))
            let result: Int
            do {
                result = try memory.read(fromFileDescriptor: fd, into: GuestAddress(address.rawValue + done), count: chunk)
            } catch {
                throw HostFileError(role: role, path: path, .readFailed(Errno(EFAULT)))
            }
            if result == 0 { throw HostFileError(role: role, path: path, .endedEarly(offset: done, size: count)) }
            if result < 0 {
                let error = Errno.current
                if error.rawValue == EINTR { continue }
                throw HostFileError(role: role, path: path, .readFailed(error))
            }
            done += UInt64(result)
        }
    }

    /// The most `read(_:count:into:at:role:path:)` asks of read(2) at once.
    static let chunkSize: UInt64 = 16 << 20

    /// Opens `path`, read-only unless `writable`; refuses directories and anything that is
    /// not a regular file (or, where `blockDevices`, a block device). Returns the
    /// descriptor and what fstat(2) said of the file. When writing is refused (EACCES,
    /// EROFS), `notWritableHint` ends the message.
    public static func open(
        _ path: String, role: String, writable: Bool = false, blockDevices: Bool = false, notWritableHint: String = ""
    ) throws(HostFileError) -> (fd: Int32, info: stat) {
        let fd = Glibc.open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK)  // see clearNonBlocking
        guard fd >= 0 else {
            let error = Errno.current
            let hint = writable && (error.rawValue == EACCES || error.rawValue == EROFS) ? notWritableHint : ""
            throw HostFileError(role: role, path: path, .cannotOpen(error, hint: hint))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = Errno.current
            close(fd)
            throw HostFileError(role: role, path: path, .cannotStat(error))
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || blockDevices && type == S_IFBLK else {
            close(fd)
            throw HostFileError(role: role, path: path, blockDevices ? .notRegularFileOrBlockDevice : .notRegularFile)
        }
        clearNonBlocking(fd)
        return (fd, info)
    }

    /// Inputs are opened with O_NONBLOCK, so that open(2) cannot wait: a FIFO opened for
    /// reading would wait for a writer, forever. Once the file is known to be regular (or
    /// a block device), where O_NONBLOCK changes nothing, this takes the flag off again.
    static func clearNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }
}
