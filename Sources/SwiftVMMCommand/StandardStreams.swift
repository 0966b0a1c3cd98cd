#if canImport(Glibc)
import Glibc
#endif

/// File descriptors 0, 1 and 2, which the console and the messages use by number.
enum StandardStreams {
    /// Opens /dev/null on each of stdin, stdout and stderr that the parent left closed
    /// (`swiftvmm run >&-`). Otherwise the next file opened, a disk image say, would take
    /// that number, and the guest's console output would be written into the image.
    static func ensureOpen() {
        for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) < 0 {
            // open(2) returns the lowest free number: this one, as the lower ones are open.
            let null = open("/dev/null", O_RDWR)
            if null >= 0 && null != fd {
                dup2(null, fd)
                close(null)
            }
        }
    }
}
