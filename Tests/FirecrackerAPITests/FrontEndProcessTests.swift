import Foundation
import Locking
import Testing

/// The built swiftvmm, run as Firecracker's front end.
final class FirecrackerProcess {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()
    static let executable: String? = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftvmm").path,
            root + "/.build/debug/swiftvmm",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
    static let testGuest = root + "/guest-images/testguest/testguest.elf"
    static var kvmUsable: Bool {
        FileManager.default.isReadableFile(atPath: "/dev/kvm") && FileManager.default.isWritableFile(atPath: "/dev/kvm")
    }

    let process = Process()
    let directory = scratchDirectory()
    var socket: String { directory + "/api.sock" }
    private let output = Locked<Data>(Data())
    private let errors = Locked<Data>(Data())
    private let readers = DispatchGroup()

    /// Starts `swiftvmm firecracker --api-sock SOCKET arguments`, or through a link named
    /// `firecracker` when `asFirecracker`.
    init(_ arguments: [String] = [], asFirecracker: Bool = false, withSocket: Bool = true) throws {
        let executable = try #require(Self.executable, "swiftvmm was not built next to the tests")
        var command = [executable, "firecracker"]
        if asFirecracker {
            let link = directory + "/firecracker"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: executable)
            command = [link]
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + (withSocket ? ["--api-sock", socket] : []) + arguments
        let out = Pipe(), err = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        collect(out, into: output)
        collect(err, into: errors)
    }

    private func collect(_ pipe: Pipe, into buffer: Locked<Data>) {
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async(group: readers) {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                buffer.withLock { $0.append(contentsOf: chunk[0..<count]) }
            }
            _ = handle
        }
    }

    var console: String { String(decoding: output.withLock { $0 }, as: UTF8.self) }
    var stderr: String { String(decoding: errors.withLock { $0 }, as: UTF8.self) }

    /// A client, once the socket answers (within `seconds`).
    func client(within seconds: Double = 10) throws -> APIClient {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let client = try? APIClient(socket) { return client }
            guard Date() < deadline, process.isRunning else { throw CocoaError(.fileNoSuchFile) }
            usleep(2000)
        }
    }

    /// Waits until the console shows `text` (count times); false after `seconds`.
    func waitFor(_ text: String, count: Int = 1, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if console.components(separatedBy: text).count - 1 >= count { return true }
            if !process.isRunning { break }
            usleep(10_000)
        }
        return console.components(separatedBy: text).count - 1 >= count
    }

    func exitStatus(within seconds: Double = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5000) }
        if process.isRunning {
            Issue.record("swiftvmm firecracker did not exit within \(seconds) s; killed")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        readers.wait()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

private let bootSource = """
    {"kernel_image_path": "\(FirecrackerProcess.testGuest)", "boot_args": "console=ttyS0 testguest.quiet testguest.noacpi testguest.keyboard"}
    """

@Suite("swiftvmm firecracker: the whole life of a machine, driven over the API socket",
       .enabled(if: FirecrackerProcess.kvmUsable, "skipped: /dev/kvm cannot be used here"))
struct FrontEndProcessTests {
    @Test("configure, start, read the console, pause (the guest stops), resume (it goes on), Ctrl-Alt-Del: exit 0")
    func wholeLife() throws {
        let vmm = try FirecrackerProcess(["--id", "life-1"])
        let client = try vmm.client()
        client.request("GET", "/")
        let described = client.response()
        #expect(described?.status == 200 && described?.body.contains("\"id\":\"life-1\"") == true)
        #expect(described?.body.contains("Not started") == true)
        client.request("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}")
        #expect(client.response()?.status == 204)
        client.request("PUT", "/boot-source", bootSource)
        #expect(client.response()?.status == 204)
        client.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}")
        #expect(client.response()?.status == 204)
        #expect(vmm.waitFor("keyboard: tick 2"))

        client.request("PATCH", "/vm", "{\"state\": \"Paused\"}")
        #expect(client.response()?.status == 204)
        client.request("GET", "/")
        #expect(client.response()?.body.contains("\"state\":\"Paused\"") == true)
        let ticksWhenPaused = vmm.console.components(separatedBy: "tick").count
        Thread.sleep(forTimeInterval: 1.5)
        #expect(vmm.console.components(separatedBy: "tick").count == ticksWhenPaused, "the guest ran while paused")
        client.request("PATCH", "/vm", "{\"state\": \"Resumed\"}")
        #expect(client.response()?.status == 204)
        #expect(vmm.waitFor("keyboard: tick", count: ticksWhenPaused, seconds: 30))

        client.request("PUT", "/drives/late", "{\"drive_id\": \"late\", \"path_on_host\": \"/x\", \"is_root_device\": false}")
        let late = client.response()
        #expect(late?.status == 400 && late?.body.contains("not supported after starting") == true)
        client.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}")
        #expect(client.response()?.status == 400)

        client.request("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}")
        #expect(client.response()?.status == 204)
        #expect(vmm.exitStatus() == 0)
        #expect(vmm.console.contains("keyboard: scan code 0x1d\r\nkeyboard: scan code 0x38\r\nkeyboard: scan code 0xe0\r\nkeyboard: scan code 0x53\r\nkeyboard: Ctrl-Alt-Del"))
        #expect(!FileManager.default.fileExists(atPath: vmm.socket), "the socket is removed when the process ends")
    }

    @Test("started through a link named 'firecracker', with --config-file, --no-api and --boot-timer: it boots at once, and the guest's boot time is logged")
    func configFileNoAPI() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/vm.json", log = directory + "/log"
        try """
            {"boot-source": {"kernel_image_path": "\(FirecrackerProcess.testGuest)", "boot_args": "console=ttyS0 testguest.quiet testguest.noacpi testguest.boottimer testguest.exit=3"},
             "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let vmm = try FirecrackerProcess(["--config-file", config, "--no-api", "--boot-timer", "--log-path", log],
                                         asFirecracker: true, withSocket: false)
        #expect(vmm.exitStatus() == 7)  // isa-debug-exit 3: (3 << 1) | 1
        #expect(vmm.console.contains("Goodbye: exiting through port 0xf4 with value 3."))
        let lines = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let timed = lines.split(separator: "\n").filter { $0.contains("Guest-boot-time = ") }
        #expect(timed.count == 1, "\(lines)")
        #expect(timed.first.map { $0.contains(" us ") && $0.contains(" CPU ms") } == true)
    }

    @Test("a configuration file that asks for what SwiftVMM does not have: status 2 and the message, no VM")
    func badConfigFile() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/vm.json"
        try "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": true}}"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let vmm = try FirecrackerProcess(["--config-file", config])
        #expect(vmm.exitStatus() == 2)
        #expect(vmm.stderr.contains("SwiftVMM does not support a balloon device."))
    }

    @Test("hostile clients against the running process: each gets an error or a closed connection, the machine still boots")
    func hostileThenBoot() throws {
        let vmm = try FirecrackerProcess()
        let silent = try vmm.client()
        let garbage = try vmm.client()
        garbage.send("\u{0}\u{1}GARBAGE\r\n\r\n")
        #expect(garbage.response()?.status == 400)
        #expect(garbage.closed())
        let huge = try vmm.client()
        huge.send("PUT /boot-source HTTP/1.1\r\n" + String(repeating: "X-Pad: 0123456789\r\n", count: 2000))
        #expect(huge.response()?.status == 431)
        let client = try vmm.client()
        for body in ["{", "[]", "{\"kernel_image_path\": 1}", "{\"kernel_image_path\": \"/k\", \"surprise\": true}"] {
            client.request("PUT", "/boot-source", body)
            let response = client.response()
            #expect(response?.status == 400 && response?.body.contains("fault_message") == true, "\(body)")
        }
        client.request("PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/kernel\"}")
        #expect(client.response()?.status == 204)
        client.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}")
        let failed = client.response()
        #expect(failed?.status == 400 && failed?.body.contains("/nonexistent/kernel") == true)
        client.request("PUT", "/boot-source", bootSource)
        #expect(client.response()?.status == 204)
        client.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}")
        #expect(client.response()?.status == 204)
        #expect(vmm.waitFor("keyboard: waiting"))
        _ = silent
        client.request("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}")
        #expect(client.response()?.status == 204)
        #expect(vmm.exitStatus() == 0)
    }

    @Test("an API socket path that exists already: status 2, the path named")
    func socketExists() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/taken.sock"
        FileManager.default.createFile(atPath: path, contents: Data())
        let vmm = try FirecrackerProcess(["--api-sock", path], withSocket: false)
        #expect(vmm.exitStatus() == 2)
        #expect(vmm.stderr.contains("--api-sock \(path)"))
    }
}
