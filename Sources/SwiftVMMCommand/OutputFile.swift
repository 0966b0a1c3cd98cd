import HostIO
import VMM
#if canImport(Glibc)
import Glibc
#endif

/// The files the command writes reports to (`--trace-file`, `--stats-json`): opened,
/// created or truncated, before the machine is built, so that a path that cannot be
/// written is refused before anything runs.
enum OutputFile {
    /// Opens `path` for writing the report of `flag`; the error names both.
    static func open(_ path: String, for flag: Arguments.RunFlag) throws(MachineError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .file(HostFileError(role: flag.rawValue, path: path, .cannotOpen(.current, hint: "")))
        }
        return fd
    }

    /// Writes `text` to `fd` and closes it.
    static func write(_ text: String, to fd: Int32) {
        FileDescriptorSink(fd: fd).write(Array(text.utf8))
        close(fd)
    }
}
