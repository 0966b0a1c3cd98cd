import Foundation
import Testing

/// Runs the built `swiftvmm` executable as a user would.
enum SwiftVMMProcess {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// The executable next to the test bundle (swift test builds it alongside).
    static let executable: String? = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftvmm").path,
            root + "/.build/debug/swiftvmm",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs swiftvmm with `arguments`. `stdin` is written once stdout shows `stdinAfter`
    /// (or at once without it), then stdin is closed.
    static func run(
        _ arguments: [String], stdin: Data? = nil, stdinAfter marker: String? = nil,
        signalAfter: (Double, Int32)? = nil
    ) throws -> Result {
        guard let executable else {
            Issue.record("the swiftvmm executable was not built next to the tests")
            return Result(status: -1, stdout: "", stderr: "")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        var stdoutData = Data()
        if let marker {
            while !String(decoding: stdoutData, as: UTF8.self).contains(marker) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                stdoutData += chunk
            }
        }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        if let (delay, signal) = signalAfter {
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, signal)
        }
        stdoutData += out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }

    static var kvmUsable: Bool { FileManager.default.isReadableFile(atPath: "/dev/kvm") && FileManager.default.isWritableFile(atPath: "/dev/kvm") }
}

@Suite("swiftvmm, end to end: statuses and messages without a VM")
struct CLIInputTests {
    @Test("--help documents the exit statuses and exits 0")
    func help() throws {
        let result = try SwiftVMMProcess.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("EXIT STATUS"))
        #expect(result.stdout.contains("swiftvmm run"))
    }

    @Test("--version prints the version")
    func version() throws {
        let result = try SwiftVMMProcess.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("swiftvmm "))
    }

    @Test("a usage error exits 2 and says what is wrong on stderr")
    func usage() throws {
        let result = try SwiftVMMProcess.run(["run", "--memory", "lots"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--memory 'lots': not a size"))
        #expect(result.stdout.isEmpty)
    }

    @Test("a missing kernel file exits 2 naming the file")
    func missingKernel() throws {
        let result = try SwiftVMMProcess.run(["run", "--kernel", "/nonexistent/vmlinuz"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("kernel /nonexistent/vmlinuz: cannot open: No such file or directory (ENOENT)"))
    }

    @Test("a directory given as the kernel exits 2")
    func directoryKernel() throws {
        let result = try SwiftVMMProcess.run(["run", "--kernel", "/tmp"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("kernel /tmp: not a regular file"))
    }

    @Test("a file that is not a kernel exits 2 naming the file and the problem")
    func notAKernel() throws {
        let result = try SwiftVMMProcess.run(["run", "--kernel", SwiftVMMProcess.root + "/README.md"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("README.md: not a Linux kernel"))
    }

    @Test("a missing initrd exits 2 naming the file")
    func missingInitrd() throws {
        let result = try SwiftVMMProcess.run(["run", "--initrd", "/nonexistent/initrd.img"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("initrd /nonexistent/initrd.img: cannot open"))
    }

    @Test("more memory than the host has exits 2 before anything runs")
    func tooMuchMemory() throws {
        let result = try SwiftVMMProcess.run(["run", "--memory", "1000000M"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--memory 1000000M: more than this host's"))
    }

    @Test("more vCPUs than the ACPI tables can list exits 2 naming --cpus, before anything runs")
    func tooManyCPUs() throws {
        let result = try SwiftVMMProcess.run(["run", "--cpus", "100000"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--cpus 100000: the ACPI tables for that many vCPUs need at least"))
        #expect(result.stdout.isEmpty)
    }

    @Test("a disk image whose size is not a multiple of 512, or that is missing, exits 2 naming it")
    func badDiskImage() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmm-odd-\(getpid()).img").path
        try Data(count: 1000).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let odd = try SwiftVMMProcess.run(["run", "--disk", path])
        #expect(odd.status == 2)
        #expect(odd.stderr.contains("disk \(path): its size, 1000 bytes, is not a positive multiple of 512"))
        let missing = try SwiftVMMProcess.run(["run", "--disk", "/nonexistent/disk.img,readonly=on"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("disk /nonexistent/disk.img: cannot open"))
    }

    @Test("a command line longer than the kernel accepts exits 2")
    func commandLineTooLong() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", String(repeating: "x", count: 5000)])
        #expect(result.status == 2)
        #expect(result.stderr.contains("command line"))
    }
}

@Suite("swiftvmm, end to end on KVM", .enabled(if: SwiftVMMProcess.kvmUsable, "skipped: /dev/kvm is not readable and writable here"))
struct CLIRunTests {
    @Test("swiftvmm run boots the built-in demo guest, which greets and exits 0")
    func demo() throws {
        let result = try SwiftVMMProcess.run(["run"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Hello from the SwiftVMM demo guest!"))
        #expect(result.stdout.contains("Goodbye"))
        #expect(result.stderr.isEmpty)
    }

    @Test("swiftvmm run --cpus 4: the demo guest finds four CPUs and starts them all")
    func fourCPUs() throws {
        let result = try SwiftVMMProcess.run(["run", "--cpus", "4"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("CPUs: 4 in the ACPI MADT"))
        #expect(result.stdout.contains("CPUs: 4 of 4 running"))
        #expect(result.stderr.isEmpty)
    }

    @Test("the guest's debug-exit value becomes the process status (v << 1) | 1")
    func debugExitStatus() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.exit=3"])
        #expect(result.status == 7)
    }

    @Test("a triple fault exits 6 with a message naming it and the RIP")
    func tripleFault() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.triplefault"])
        #expect(result.status == 6)
        #expect(result.stderr.contains("triple-faulted on vCPU 0 at RIP 0x"))
    }

    @Test("a guest stopped by an instruction KVM cannot run exits 6; the message has RIP, bytes and advice")
    func emulationFailure() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.int3"])
        #expect(result.status == 6)
        #expect(result.stdout.contains("int3: now"))
        if result.stderr.contains("triple-faulted") {
            // A host with VT-x/AMD-V delivers the trap; the guest's empty IDT escalates it.
            #expect(result.stderr.contains("at RIP 0x"))
        } else {
            #expect(result.stderr.contains("KVM could not emulate the instruction at RIP 0x"))
            #expect(result.stderr.contains(": bytes cc "))
            #expect(result.stderr.contains("(int3)"))
            #expect(result.stderr.contains("CONFIG_PVM_GUEST"))
        }
    }

    @Test("stdin reaches the guest's serial port")
    func stdinReachesGuest() throws {
        // Piped at once, before the guest has set up its UART: the console holds it until
        // the guest raises DTR, so its FIFO reset cannot drop it.
        let result = try SwiftVMMProcess.run(
            ["run", "--cmdline", "testguest.quiet testguest.echo=2"], stdin: Data("ok".utf8))
        #expect(result.status == 0)
        #expect(result.stdout.contains("echo: got \"ok\""))
    }

    @Test("SIGTERM stops a running guest: exit status 143, a message on stderr")
    func sigterm() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.outs=10000000"], signalAfter: (1.0, SIGTERM))
        #expect(result.status == 143)
        #expect(result.stderr.contains("stopped by SIGTERM"))
    }

    @Test("two swiftvmm processes cannot write one disk image: the second exits 2 naming it")
    func lockedDiskImage() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmm-lock-\(getpid()).img").path
        try Data(count: 64 * 512).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The first VM keeps running (ten million port writes) while the second starts.
        let first = Process()
        first.executableURL = URL(fileURLWithPath: SwiftVMMProcess.executable!)
        first.arguments = ["run", "--disk", path, "--cmdline", "testguest.quiet testguest.outs=10000000"]
        first.standardOutput = FileHandle.nullDevice
        first.standardInput = FileHandle.nullDevice
        try first.run()
        defer { first.terminate(); first.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.5)
        let second = try SwiftVMMProcess.run(["run", "--disk", path])
        #expect(second.status == 2)
        #expect(second.stderr.contains("disk \(path): in use by another VM"))
    }

    @Test("SIGTERM stops a guest whose console output blocks on a pipe nobody reads: status 143, promptly")
    func stopWhileOutputBlocks() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SwiftVMMProcess.executable))
        // A million lines: the pipe fills after about a thousand and every write blocks.
        process.arguments = ["run", "--cmdline", "testguest.quiet testguest.chatter=1000000"]
        let unread = Pipe()
        // One page of pipe (F_SETPIPE_SZ, fcntl(2); Swift's Glibc does not import the
        // name): the guest fills it in a fraction of a second, then every write blocks.
        let setPipeSize: Int32 = 1031
        let capacity = fcntl(unread.fileHandleForWriting.fileDescriptor, setPipeSize, 4096)
        #expect(capacity == 4096)
        process.standardOutput = unread
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Wait until the pipe is full: the vCPU is then blocked in write(2). The console
        // writes whole lines, which a pipe takes whole (PIPE_BUF): full is less than one
        // chatter line (under 64 bytes) short of the capacity.
        let line: Int32 = 64
        var queued: Int32 = 0
        for _ in 0..<500 {
            _ = ioctl(unread.fileHandleForReading.fileDescriptor, UInt(FIONREAD), &queued)
            if queued > capacity - line { break }
            usleep(10_000)
        }
        #expect(queued > capacity - line, "the guest's output never filled the pipe")
        usleep(100_000)
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let stuck = process.isRunning
        if stuck { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(!stuck, "swiftvmm was still running 10 s after SIGTERM")
        #expect(process.terminationStatus == 143)
        try unread.fileHandleForReading.close()
    }

    @Test("swiftvmm host reports the API version and a verdict, exit 0")
    func host() throws {
        let result = try SwiftVMMProcess.run(["host"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("KVM API version 12"))
        #expect(result.stdout.contains("verdict: SwiftVMM runs guests here"))
    }
}

@Suite("swiftvmm, end to end: tracing, statistics and boot checks", .enabled(if: SwiftVMMProcess.kvmUsable, "skipped: /dev/kvm is not readable and writable here"))
struct CLIInstrumentationTests {
    static let writes = 300

    @Test("--trace io --stats: exactly N trace lines for port 0x80, and the table's 'post' row counts N")
    func traceAndStats() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.outs=\(Self.writes)", "--trace", "io", "--stats"])
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.filter { $0.contains(" port=0x80 ") }.count == Self.writes)
        #expect(lines.filter { $0.contains(" port=0x80 ") }.allSatisfy { $0.contains(" vcpu0 io-out ") && $0.hasSuffix(" device=post") })
        let post = lines.first { $0.split(separator: " ").first == "post" }.map { $0.split(separator: " ").map(String.init) }
        #expect(post?[1] == String(Self.writes), "\(result.stderr.suffix(2000))")
        #expect(lines.contains { $0.hasPrefix("boot timeline") })
        #expect(result.stdout.contains("outs: \(Self.writes) done"))
    }

    @Test("--stats-json and --trace-file write files: the JSON parses and agrees with the trace")
    func files() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmm-stats-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = directory.appendingPathComponent("stats.json"), trace = directory.appendingPathComponent("trace.txt")
        let result = try SwiftVMMProcess.run([
            "run", "--cmdline", "testguest.quiet testguest.outs=\(Self.writes)", "--stats-json", json.path,
            "--trace", "exits", "--trace-file", trace.path, "--ready-marker", "outs: ",
        ])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let exits = try #require(document["exits"] as? [[String: Any]])
        let post = exits.first { $0["device"] as? String == "post" }
        #expect(post?["reason"] as? String == "io-out" && post?["count"] as? Int == Self.writes)
        let traced = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
        #expect(traced.filter { $0.contains(" port=0x80 ") }.count == Self.writes)
        #expect(traced.count == exits.reduce(0) { $0 + ($1["count"] as? Int ?? 0) })
        let timeline = try #require(document["timeline_ns"] as? [String: Any])
        let ready = try #require(timeline["ready_marker"] as? Int), exit = try #require(timeline["exit"] as? Int)
        #expect(ready > 0 && ready < exit)
        #expect(document["exit_status"] as? Int == 0 && document["stop_reason"] as? String == "reset")
    }

    @Test("--expect: status 0 as soon as the string appears, the guest stopped early")
    func expectSuccess() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.outs=10000000", "--expect", "CPUs: 1 of 1 running", "--timeout", "60"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("CPUs: 1 of 1 running"))
        #expect(!result.stdout.contains("Goodbye"))
        #expect(result.stderr.isEmpty)
    }

    @Test("--expect with --timeout: status 124 when the time runs out, with the last console lines on stderr")
    func expectTimeout() throws {
        let result = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.outs=10000000", "--expect", "login:", "--timeout", "0.5"])
        #expect(result.status == 124)
        #expect(result.stderr.contains("timed out after 0.5 s (--timeout) waiting for \"login:\"; the last console lines:"))
        #expect(result.stderr.contains("  |   CPUs: 1 of 1 running"))
    }

    @Test("--expect: status 8 when the guest resets before the string appears, its own status when it ends through isa-debug-exit; --timeout alone: 124")
    func expectMissingAndTimeoutAlone() throws {
        let missing = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet", "--expect", "login:"])
        #expect(missing.status == 8)
        #expect(missing.stderr.contains("before \"login:\" appeared on the console; the last console lines:"))
        #expect(missing.stderr.contains("  | Goodbye: exiting with status 0."))
        let ended = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.exit=2", "--expect", "login:"])
        #expect(ended.status == 5)
        #expect(ended.stderr.contains("the guest ended through isa-debug-exit (value 2, status 5) before \"login:\" appeared on the console; the last console lines:"))
        #expect(ended.stderr.contains("  | Goodbye: exiting through port 0xf4 with value 2."))
        let alone = try SwiftVMMProcess.run(["run", "--cmdline", "testguest.quiet testguest.outs=10000000", "--timeout", "0.3"])
        #expect(alone.status == 124)
        #expect(alone.stderr.contains("timed out after 0.3 s (--timeout); the last console lines:"))
    }

    @Test("--timeout says where each vCPU was: the boot CPU running (writing to a port), the other halted")
    func timeoutShowsVCPUs() throws {
        let result = try SwiftVMMProcess.run(["run", "--cpus", "2", "--cmdline", "testguest.quiet testguest.outs=100000000", "--timeout", "2"])
        #expect(result.status == 124)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("  vCPU 0 running at RIP 0x") }, "\(result.stderr)")
        #expect(lines.contains { $0.hasPrefix("  vCPU 1 halted at RIP 0x") }, "\(result.stderr)")
        // The lines come after the console's, last in the message.
        #expect(lines.last?.hasPrefix("  vCPU 1 ") == true, "\(result.stderr)")
    }

    @Test("a --stats-json path that cannot be written is bad input: status 2 before anything runs")
    func unwritableStatsFile() throws {
        let result = try SwiftVMMProcess.run(["run", "--stats-json", "/nonexistent/stats.json"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--stats-json /nonexistent/stats.json: cannot open: No such file or directory (ENOENT)"))
        #expect(result.stdout.isEmpty)
    }
}
