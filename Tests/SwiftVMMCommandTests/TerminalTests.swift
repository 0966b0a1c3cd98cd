import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal: swiftvmm gets the slave end as its stdin, stdout and stderr, as it
/// would from a user's shell; the test types into the master end and reads from it.
///
/// Opened the way posix_openpt(3), unlockpt(3) and ptsname(3) do it (Swift's Glibc
/// module does not import those): /dev/ptmx gives a new master, TIOCSPTLCK unlocks its
/// slave and TIOCGPTN names it /dev/pts/N (Documentation/filesystems/devpts.rst).
final class PseudoTerminal {
    /// From include/uapi/asm-generic/ioctls.h: _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int).
    static let setLock: UInt = 0x4004_5431  // TIOCSPTLCK
    static let getNumber: UInt = 0x8004_5430  // TIOCGPTN

    let master: Int32
    let slave: Int32
    private var received: [UInt8] = []

    init() throws {
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw POSIXError(.ENOENT) }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, Self.setLock, &unlock) == 0, ioctl(master, Self.getNumber, &number) == 0 else {
            close(master)
            throw POSIXError(.ENOTTY)
        }
        slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else {
            close(master)
            throw POSIXError(.ENOENT)
        }
    }

    deinit {
        close(slave)
        close(master)
    }

    /// The slave's current terminal settings.
    var settings: termios {
        var settings = termios()
        tcgetattr(slave, &settings)
        return settings
    }

    /// Raw mode as cfmakeraw(3) sets it: no line editing, no echo, no signal keys.
    var isRaw: Bool { settings.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0 }

    func type(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Reads what swiftvmm wrote until `marker` appears or `seconds` pass; returns all of it.
    @discardableResult
    func read(until marker: String, seconds: Double = 20) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while !text.contains(marker), Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return text
    }

    var text: String { String(decoding: received, as: UTF8.self) }
}

/// The console on a real terminal: raw mode while the guest runs, restored on every way out.
@Suite("swiftvmm on a terminal", .enabled(if: SwiftVMMProcess.kvmUsable, "skipped: /dev/kvm is not readable and writable here"))
struct TerminalTests {
    /// Starts swiftvmm on `terminal` with the test guest told `guestOptions`.
    func start(_ guestOptions: String, on terminal: PseudoTerminal) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SwiftVMMProcess.executable))
        process.arguments = ["run", "--cmdline", "testguest.quiet " + guestOptions]
        let handle = FileHandle(fileDescriptor: terminal.slave, closeOnDealloc: false)
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Waits for the guest to ask for input, checks the terminal is raw by then, and
    /// remembers the settings to compare after.
    func waitForPrompt(_ terminal: PseudoTerminal, _ process: Process) -> Bool {
        // The guest prints `echo: got "` and then blocks reading the UART.
        let prompt = terminal.read(until: "echo: got \"")
        guard prompt.contains("echo: got \"") else {
            process.terminate()
            Issue.record("the guest never asked for input; it printed: \(prompt)")
            return false
        }
        #expect(terminal.isRaw, "the terminal should be in raw mode while the guest runs")
        return true
    }

    /// Waits for swiftvmm to exit; after `seconds`, kills it and records a failure, so a
    /// broken console fails the test instead of hanging it.
    func waitForExit(_ process: Process, seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            Issue.record("swiftvmm did not exit within \(seconds) s")
            return nil
        }
        return process.terminationStatus
    }

    func expectRestored(_ terminal: PseudoTerminal, to original: termios) {
        let now = terminal.settings
        #expect(now.c_lflag == original.c_lflag)
        #expect(now.c_iflag == original.c_iflag)
        #expect(now.c_oflag == original.c_oflag)
        #expect(!terminal.isRaw)
    }

    @Test("typed bytes reach the guest unbuffered, and the terminal's settings come back at exit")
    func rawThenRestored() throws {
        let terminal = try PseudoTerminal()
        let original = terminal.settings
        #expect(!terminal.isRaw)
        let process = try start("testguest.echo=1", on: terminal)
        guard waitForPrompt(terminal, process) else { return }
        terminal.type(Array("z".utf8))  // no newline: raw mode delivers it at once
        let output = terminal.read(until: "Goodbye")
        #expect(waitForExit(process) == 0)
        #expect(output.contains("echo: got \"z\""))
        expectRestored(terminal, to: original)
    }

    @Test("Ctrl-A x quits with status 0 and restores the terminal; the x never reaches the guest")
    func controlAX() throws {
        let terminal = try PseudoTerminal()
        let original = terminal.settings
        let process = try start("testguest.echo=3", on: terminal)
        guard waitForPrompt(terminal, process) else { return }
        terminal.type([0x01, UInt8(ascii: "x")])
        #expect(waitForExit(process) == 0)
        // The guest prints each byte after `echo: got "` as it arrives: none did.
        let output = terminal.read(until: "never printed", seconds: 0.5)
        #expect(!output.contains("echo: got \"x") && !output.contains("echo: got \"\\x01"))
        expectRestored(terminal, to: original)
    }

    @Test("SIGTERM while the terminal is raw: status 143, and the terminal is restored")
    func signalRestores() throws {
        let terminal = try PseudoTerminal()
        let original = terminal.settings
        let process = try start("testguest.echo=1", on: terminal)
        guard waitForPrompt(terminal, process) else { return }
        kill(process.processIdentifier, SIGTERM)
        #expect(waitForExit(process) == 143)
        expectRestored(terminal, to: original)
    }
}
