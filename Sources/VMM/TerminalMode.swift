#if canImport(Glibc)
import Glibc
#endif

/// Puts a terminal in raw mode (no line editing, no echo, no signals from keys, so
/// Ctrl-C reaches the guest) and restores it on every way out.
///
/// Restoring happens in `restore()`, which the CLI calls on normal exit and after a
/// signal-driven stop, and also from an `atexit` handler for any other `exit()` path.
public enum TerminalMode {
    nonisolated(unsafe) private static var saved: termios? = nil
    nonisolated(unsafe) private static var savedFD: Int32 = -1
    nonisolated(unsafe) private static var registeredAtExit = false

    /// Enters raw mode on `fd` if it is a terminal. Returns false when it is not.
    @discardableResult
    public static func enterRaw(fd: Int32 = STDIN_FILENO) -> Bool {
        guard isatty(fd) == 1 else { return false }
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else { return false }
        saved = original
        savedFD = fd
        if !registeredAtExit {
            registeredAtExit = true
            atexit { TerminalMode.restore() }
        }
        var raw = original
        cfmakeraw(&raw)
        // Keep output post-processing so the guest's "\n" still returns the carriage.
        raw.c_oflag |= tcflag_t(OPOST | ONLCR)
        return tcsetattr(fd, TCSANOW, &raw) == 0
    }

    /// Restores the terminal saved by `enterRaw`, if any. Safe to call more than once.
    public static func restore() {
        guard var original = saved else { return }
        tcsetattr(savedFD, TCSANOW, &original)
        saved = nil
    }
}
