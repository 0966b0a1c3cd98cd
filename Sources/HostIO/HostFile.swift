import HostIO
#if canImport(Glibc)
import Glibc
#endif

/// Reading the user's input files, with errors that name the file and the problem.
enum HostFile {
    /// The whole file as bytes (a kernel image: a few MiB), refused before any memory is
    /// spent on it when it is larger than `limit` bytes (the guest RAM it must fit in).
    static func readAll(_ path: String, role: String, limit: UInt64) throws(MachineError) -> [UInt8] {
        let (fd, info) = try open(path, role: role)
        defer { close(fd) }
        let size = UInt64(info.st_size)
        guard size <= limit else {
            throw .badInput("\(role) \(path): \(size) bytes, more than the \(limit >> 20) MiB of guest RAM it must fit in")
        }
        do {
            return try HostIO.readAll(fd, size: Int(size))
        } catch {
            switch error {
            case .endedAt(let offset):
                throw .badInput("\(role) \(path): the file ended at byte \(offset) of \(size); it changed while being read")
            case .failed(let error):
                throw .badInput("\(role) \(path): read failed: \(String(cString: strerror(error)))")
            }
        }
    }

    /// Opens `path`, read-only unless `writable`; refuses directories and anything that is
    /// not a regular file. Returns the descriptor and what fstat(2) said of the file.
    /// When writing is refused (EACCES, EROFS), `notWritableHint` ends the message.
    static func open(
        _ path: String, role: String, writable: Bool = false, notWritableHint: String = ""
    ) throws(MachineError) -> (fd: Int32, info: stat) {
        let fd = Glibc.open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK)  // see clearNonBlocking
        guard fd >= 0 else {
            let error = errno
            let hint = writable && (error == EACCES || error == EROFS) ? notWritableHint : ""
            throw .badInput("\(role) \(path): cannot open: \(String(cString: strerror(error)))\(hint)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw .badInput("\(role) \(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .badInput("\(role) \(path): not a regular file")
        }
        clearNonBlocking(fd)
        return (fd, info)
    }

    /// Inputs are opened with O_NONBLOCK, so that open(2) cannot wait: a FIFO opened for
    /// reading would wait for a writer, forever. Once the file is known to be regular,
    /// where O_NONBLOCK changes nothing, this takes the flag off again.
    static func clearNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }
}
