import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Puts a terminal in raw mode (no line editing, no echo, no signals from keys, so
/// Ctrl-C reaches the guest) and restores it on every way out.
///
/// Restoring happens in `restore()`, which the CLI calls on normal exit and after a
/// signal-driven stop, and also from an `atexit` handler for any other `exit()` path.
public enum TerminalMode {
    /// What `restore()` needs, shared by the main path and the `atexit` handler.
    private struct State {
        /// The terminal and its settings before raw mode, while raw mode is on.
        var saved: (fd: Int32, settings: termios)?
        var registeredAtExit = false
    }

    private static let state = Locked(State())

    /// Enters raw mode on `fd` if it is a terminal. Returns false when it is not.
    @discardableResult
    public static func enterRaw(fd: Int32 = STDIN_FILENO) -> Bool {
        guard isatty(fd) == 1 else { return false }
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else { return false }
        let register = state.withLock { state in
            state.saved = (fd, original)
            defer { state.registeredAtExit = true }
            return !state.registeredAtExit
        }
        if register { atexit { TerminalMode.restore() } }
        var raw = original
        cfmakeraw(&raw)
        // Keep output post-processing so the guest's "\n" still returns the carriage.
        raw.c_oflag |= tcflag_t(OPOST | ONLCR)
        return tcsetattr(fd, TCSANOW, &raw) == 0
    }

    /// Restores the terminal saved by `enterRaw`, if any. Safe to call more than once.
    public static func restore() {
        guard let saved = state.withLock({ state in
            defer { state.saved = nil }
            return state.saved
        }) else { return }
        var settings = saved.settings
        tcsetattr(saved.fd, TCSANOW, &settings)
    }
}
