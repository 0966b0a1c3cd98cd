import Foundation
import Testing
@testable import SwiftVMMCommand

/// One row of docs/BAD-INPUT.md: a command, run as a user, and what it must answer.
struct BadInputRow: Sendable, CustomTestStringConvertible {
    let what: String
    let unprivileged: Bool
    let command: String
    let status: Int32
    let message: String

    var testDescription: String { "\(command) (\(what))" }

    static let documentPath = SwiftVMMProcess.root + "/docs/BAD-INPUT.md"

    /// Every row of every table in the document whose header is the one below.
    static let all: [BadInputRow] = {
        guard let text = try? String(contentsOfFile: documentPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("| "), cells.count == 5, cells[1] != "user", !cells[1].hasPrefix("---"),
                  let status = Int32(cells[3])
            else { return nil }
            func code(_ cell: String) -> String { cell.hasPrefix("`") && cell.hasSuffix("`") ? String(cell.dropFirst().dropLast()) : cell }
            return BadInputRow(what: cells[0], unprivileged: cells[1] == "unprivileged", command: code(cells[2]),
                               status: status, message: code(cells[4]))
        }
    }()
}

/// The files a row's placeholders name, made fresh for the row; `{locked.img}` is held
/// locked, as a running VM holds its image, until `remove()`.
final class BadInputFixtures {
    let directory: String
    private var lockHolder: Int32 = -1
    /// A TCP socket listening on `busyPort`, so a forward from it finds it in use.
    private var listener: Int32 = -1
    private(set) var busyPort: UInt16 = 0

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmm-bad-input-\(UUID().uuidString)").path
        // Readable by the unprivileged user the permission rows run as.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: path("directory"), withIntermediateDirectories: false)
        #expect(mkfifo(path("fifo"), 0o644) == 0)
        let image = Data(count: 64 * 512)
        for (name, contents, mode) in [
            ("empty", Data(), 0o644), ("text", Data("not a kernel\n".utf8), 0o644), ("unreadable", Data("secret".utf8), 0o000),
            ("disk.img", image, 0o666), ("odd.img", Data(count: 1000), 0o666), ("readonly.img", image, 0o444),
            ("locked.img", image, 0o666),
        ] as [(String, Data, Int)] {
            #expect(FileManager.default.createFile(atPath: path(name), contents: contents, attributes: [.posixPermissions: mode]))
        }
        #expect(FileManager.default.createFile(atPath: path("big.img"), contents: nil))
        #expect(truncate(path("big.img"), 64 << 20) == 0)
        lockHolder = open(path("locked.img"), O_RDWR | O_CLOEXEC)
        #expect(flock(lockHolder, LOCK_EX | LOCK_NB) == 0)
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        #expect(bound)
        busyPort = UInt16(bigEndian: address.sin_port)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func remove() {
        close(lockHolder)
        close(listener)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `text` with every placeholder replaced; nil if one cannot be filled here.
    func fill(_ text: String) -> String? {
        var text = text
        for name in ["missing", "directory", "fifo", "empty", "text", "unreadable", "disk.img", "odd.img", "readonly.img", "locked.img", "big.img"] {
            text = text.replacingOccurrences(of: "{\(name)}", with: path(name))
        }
        text = text.replacingOccurrences(of: "{5000 x}", with: String(repeating: "x", count: 5000))
        text = text.replacingOccurrences(of: "{busy port}", with: String(busyPort))
        if text.contains("{tun}") {
            guard let tun = tunDevice() else { return nil }
            text = text.replacingOccurrences(of: "{tun}", with: tun)
        }
        let hostRAM = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        text = text.replacingOccurrences(of: "{host RAM}", with: String(hostRAM >> 20))
        if text.contains("{host vCPUs") {
            guard let vcpus = Self.hostVCPUs else { return nil }
            text = text.replacingOccurrences(of: "{host vCPUs + 1}", with: String(vcpus + 1))
            text = text.replacingOccurrences(of: "{host vCPUs}", with: String(vcpus))
        }
        return text.range(of: #"\{[^}]*\}"#, options: .regularExpression) == nil ? text : nil
    }

    /// A tun/tap control device any user may open: the host's, if it is open to all, or
    /// (as root) a node for the same device made in the fixtures' directory; nil where
    /// neither can be had (no driver, not root, a file system mounted nodev).
    private func tunDevice() -> String? {
        let host = "/dev/net/tun"
        var status = stat()
        guard stat(host, &status) == 0, (status.st_mode & S_IFMT) == S_IFCHR else { return nil }
        if status.st_mode & 0o006 == 0o006 { return host }
        let node = path("tun")
        guard geteuid() == 0, mknod(node, S_IFCHR | 0o666, status.st_rdev) == 0, chmod(node, 0o666) == 0,
              case let fd = open(node, O_RDWR | O_CLOEXEC), fd >= 0 else { return nil }
        close(fd)
        return node
    }

    /// The most vCPUs this host's KVM allows, as `swiftvmm host` reports it.
    static let hostVCPUs: Int? = {
        guard let result = try? SwiftVMMProcess.run(["host"]),
              let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("vCPUs per VM: up to ") })
        else { return nil }
        return Int(line.dropFirst("vCPUs per VM: up to ".count).prefix { $0.isNumber })
    }()
}

/// Splits a command as the document writes it: words, `""` for an empty word, `[A B]×N`
/// for the words A B written N times; leading `NAME=value` words set the environment.
func parseCommand(_ command: String) -> (environment: [String: String], words: [String]) {
    func words(_ text: Substring) -> [String] {
        var result: [String] = [], current = "", quoted = false, started = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" {
                quoted.toggle()
                started = true
            } else if character == "[" && !quoted, let close = text[index...].firstIndex(of: "]") {
                let group = words(text[text.index(after: index)..<close])
                var after = text.index(after: close)
                var count = 1
                if after < text.endIndex, text[after] == "×" {
                    let digits = text[text.index(after: after)...].prefix { $0.isNumber }
                    count = Int(digits) ?? 1
                    after = digits.endIndex
                }
                for _ in 0..<count { result += group }
                index = after
                continue
            } else if character == " " && !quoted {
                if started { result.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
            index = text.index(after: index)
        }
        if started { result.append(current) }
        return result
    }
    var all = words(Substring(command))
    var environment: [String: String] = [:]
    while let first = all.first, first != "swiftvmm", let equals = first.firstIndex(of: "=") {
        environment[String(first[..<equals])] = String(first[first.index(after: equals)...])
        all.removeFirst()
    }
    return (environment, Array(all.dropFirst()))  // without "swiftvmm"
}

@Suite("docs/BAD-INPUT.md: every row, run with the built executable")
struct BadInputTableTests {
    @Test("the document has its tables, and a row for every flag of run and for SWIFTVMM_KVM_DEVICE")
    func everyFlagHasARow() {
        #expect(BadInputRow.all.count > 40, "\(BadInputRow.documentPath) has \(BadInputRow.all.count) rows")
        for flag in Arguments.RunFlag.allCases {
            #expect(BadInputRow.all.contains { $0.command.contains(" \(flag.rawValue) ") || $0.command.hasSuffix(" \(flag.rawValue)") },
                    "no row for \(flag.rawValue)")
        }
        #expect(BadInputRow.all.contains { $0.command.hasPrefix("\(KVMDevice.environmentVariable)=") })
        #expect(BadInputRow.all.contains { $0.command.hasPrefix("\(SwiftVMMCommand.tunDeviceVariable)=") })
        #expect(BadInputRow.all.contains { $0.unprivileged })
    }

    @Test("the command answers the row's status and exact message on stderr, and nothing on stdout", arguments: BadInputRow.all)
    func row(_ row: BadInputRow) throws {
        let fixtures = try BadInputFixtures()
        defer { fixtures.remove() }
        guard let command = fixtures.fill(row.command), let message = fixtures.fill(row.message) else {
            print("skipped: '\(row.command)' needs what this host cannot give here (its KVM limits without /dev/kvm, or a tun/tap device any user may open)")
            return
        }
        let (environment, arguments) = parseCommand(command)
        var launcher: [String] = [], executable: String? = nil
        if row.unprivileged && geteuid() == 0 {
            // Root opens any file: drop to an unprivileged user, running a copy of the
            // executable that user can reach.
            let setpriv = "/usr/bin/setpriv"
            guard FileManager.default.isExecutableFile(atPath: setpriv), let built = SwiftVMMProcess.executable else {
                print("skipped: '\(row.command)' needs \(setpriv) to run as an unprivileged user")
                return
            }
            try FileManager.default.copyItem(atPath: built, toPath: fixtures.path("swiftvmm"))
            launcher = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
            executable = fixtures.path("swiftvmm")
        }
        let vmm = try RunningVMM(arguments, environment: environment, launcher: launcher, executable: executable)
        #expect(vmm.exitStatus(within: 10) == row.status, "\(vmm.errors)")
        #expect(vmm.errors == message + "\n")
        #expect(vmm.output.isEmpty)
    }
}
