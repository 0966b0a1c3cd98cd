import HostIO
#if canImport(Glibc)
import Glibc
#endif

/// Reading the user's input files, with errors that name the file and the problem.
enum HostFile {
    /// The whole file as bytes (a kernel image: a few MiB), refused before any memory is
    /// spent on it when it is larger than `limit` bytes (the guest RAM it must fit in).
    static func readAll(_ path: String, role: String, limit: UInt64) throws(MachineError) -> [UInt8] {
        let fd = try open(path, role: role)
        defer { close(fd) }
        let size = try self.size(fd: fd, path: path, role: role)
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

    /// Opens `path` read-only; refuses directories and anything that is not a regular file.
    static func open(_ path: String, role: String) throws(MachineError) -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // see clearNonBlocking
        guard fd >= 0 else {
            throw .badInput("\(role) \(path): cannot open: \(String(cString: strerror(errno)))")
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
        return fd
    }

    /// Inputs are opened with O_NONBLOCK, so that open(2) cannot wait: a FIFO opened for
    /// reading would wait for a writer, forever. Once the file is known to be regular,
    /// where O_NONBLOCK changes nothing, this takes the flag off again.
    static func clearNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    static func size(fd: Int32, path: String, role: String) throws(MachineError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .badInput("\(role) \(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        return UInt64(info.st_size)
    }
}
