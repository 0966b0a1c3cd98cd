import Foundation
import Testing

/// Disk images for the test guest's workloads (guest-images/testguest/faults.c), and
/// what the guest writes into them.
struct WorkloadImage {
    let directory: String
    let path: String

    /// A zero-filled image of `sectors` sectors in a fresh directory.
    init(sectors: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmm-faults-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/disk.img"
        try Data(count: sectors * 512).write(to: URL(fileURLWithPath: path))
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func contents() throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// What the guest writes to sector `sector`: the pattern 31 i + 7, its first 8 bytes
    /// replaced by WRITER_MAGIC ^ sector, little-endian.
    static func sector(_ sector: Int) -> [UInt8] {
        withUnsafeBytes(of: (0x5357_564d_4d57_5254 ^ UInt64(sector)).littleEndian) { Array($0) } + patternTail
    }
    private static let patternTail = (8..<512).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    /// The sectors of every "writer: sectors A-B written and flushed" line.
    static func flushedSectors(_ lines: [String]) -> [Int] {
        lines.flatMap { line -> [Int] in
            let words = line.split(separator: " ")
            guard line.hasPrefix("writer: sectors "), line.hasSuffix(" written and flushed"), words.count == 6 else { return [] }
            let bounds = words[2].split(separator: "-").compactMap { Int($0) }
            return bounds.count == 2 && bounds[0] <= bounds[1] ? Array(bounds[0]...bounds[1]) : []
        }
    }

    /// Checks the image after a writer run: every flushed sector holds what the guest
    /// wrote; any other sector holds that too or is still zero (nothing else).
    func expectWriterData(flushed: [Int], sectors: Int) throws {
        let bytes = try contents()
        #expect(bytes.count == sectors * 512)
        let flushedSet = Set(flushed)
        for sector in 0..<sectors {
            let actual = Array(bytes[sector * 512..<(sector + 1) * 512])
            if flushedSet.contains(sector) {
                #expect(actual == Self.sector(sector), "sector \(sector) was flushed but does not hold what the guest wrote")
            } else {
                #expect(actual == Self.sector(sector) || actual.allSatisfy { $0 == 0 }, "sector \(sector) holds something the guest never wrote")
            }
        }
    }
}

/// The host misbehaves under a running guest: its output goes nowhere, it is signalled
/// or killed in the middle of disk writes, its disk's file system fills up.
@Suite("Host faults, end to end: closed output, signals and SIGKILL during writes, a full file system",
       .enabled(if: SwiftVMMProcess.kvmUsable, "skipped: /dev/kvm is not readable and writable here"))
struct HostFaultTests {
    /// Writer runs get more sectors than they can write before the test stops them.
    static let writerSectors = 8192
    static let guestELF = SwiftVMMProcess.root + "/guest-images/testguest/testguest.elf"

    func writer(_ image: WorkloadImage, io: String = "vcpu") throws -> RunningVMM {
        try RunningVMM(["run", "--kernel", Self.guestELF, "--memory", "64M", "--disk", "\(image.path),io=\(io)",
                        "--cmdline", "console=ttyS0 testguest.quiet testguest.writer"])
    }

    @Test("stdout closed (with stdin, with stderr), or a pipe nobody reads: the VMM neither dies of SIGPIPE nor writes the console into the disk image; the guest runs to its exit status",
          arguments: [RunningVMM.Output.closed(">&-"), .closed("<&- >&-"), .closed(">&- 2>&-"), .unread])
    func outputGoesNowhere(output: RunningVMM.Output) throws {
        let image = try WorkloadImage(sectors: 64)
        defer { image.remove() }
        let vmm = try RunningVMM(["run", "--disk", image.path, "--cmdline", "console=ttyS0 testguest.exit=3"], output: output)
        #expect(vmm.exitStatus() == 7)
        #expect(vmm.errors.isEmpty)
        #expect(try image.contents() == [UInt8](repeating: 0, count: 64 * 512), "the guest's console output went into the disk image")
    }

    @Test("SIGTERM or SIGINT during heavy writes: status 143 or 130, a message, every flushed write in the image, and the image unlocked at once",
          arguments: [(SIGTERM, "vcpu"), (SIGINT, "thread")])
    func signalDuringWrites(signal: Int32, io: String) throws {
        let image = try WorkloadImage(sectors: Self.writerSectors)
        defer { image.remove() }
        let vmm = try writer(image, io: io)
        #expect(vmm.waitFor { WorkloadImage.flushedSectors($0).count >= 64 }, "the guest did not get writing: \(vmm.output)")
        vmm.send(signal)
        #expect(vmm.exitStatus(within: 10) == 128 + signal)
        #expect(vmm.errors == "swiftvmm: stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM")\n")
        let flushed = WorkloadImage.flushedSectors(vmm.lines)
        #expect(!vmm.lines.contains("writer: done"), "the guest finished before the signal came")
        try image.expectWriterData(flushed: flushed, sectors: Self.writerSectors)
        // The lock went with the VMM: another one takes the image at once.
        let next = try RunningVMM(["run", "--disk", image.path, "--cmdline", "console=ttyS0 testguest.quiet testguest.exit=0"])
        #expect(next.exitStatus() == 1, "\(next.errors)")
    }

    @Test("SIGKILL during writes: every write the guest saw acknowledged and flushed is in the image; the next VM can lock it")
    func sigkillDuringWrites() throws {
        let image = try WorkloadImage(sectors: Self.writerSectors)
        defer { image.remove() }
        let vmm = try writer(image)
        #expect(vmm.waitFor { WorkloadImage.flushedSectors($0).count >= 64 }, "the guest did not get writing: \(vmm.output)")
        vmm.send(SIGKILL)
        #expect(vmm.exitStatus(within: 10) == 128 + SIGKILL)
        let flushed = WorkloadImage.flushedSectors(vmm.lines)
        #expect(flushed.count >= 64 && flushed.count < Self.writerSectors)
        try image.expectWriterData(flushed: flushed, sectors: Self.writerSectors)
        let next = try RunningVMM(["run", "--disk", image.path, "--cmdline", "console=ttyS0 testguest.quiet testguest.exit=0"])
        #expect(next.exitStatus() == 1, "\(next.errors)")
    }

    /// Mounts a 64 KiB tmpfs on $1 in a mount namespace of its own (gone when the
    /// command ends), puts a sparse 32 KiB image there with only its first page
    /// allocated, fills the rest of the file system, runs the command that follows, and
    /// copies the image to $2.
    static let fullFileSystemScript = """
        set -e
        mount -t tmpfs -o size=64k swiftvmm-full "$1"
        truncate -s 32K "$1/disk.img"
        dd if=/dev/zero of="$1/disk.img" bs=4096 count=1 conv=notrunc status=none
        dd if=/dev/zero of="$1/fill" bs=4096 status=none 2>/dev/null || true
        mnt=$1 out=$2
        shift 2
        set +e
        "$@"
        status=$?
        cp "$mnt/disk.img" "$out/disk.img"
        exit $status
        """

    /// Why a private mount namespace with a tmpfs cannot be had here, or nil.
    static let mountNamespaceProblem: String? = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c", "mount -t tmpfs -o size=4k probe /mnt"]
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch {
            let reason = "skipped: cannot run unshare(1): \(error)"
            print(reason)
            return reason
        }
        probe.waitUntilExit()
        guard probe.terminationStatus != 0 else { return nil }
        let reason = "skipped: no tmpfs in a private mount namespace here (unshare --mount needs root)"
        print(reason)
        return reason
    }()

    @Test("the image's file system is full: writes that need new blocks answer IOERR, the rest succeed and are in the image, the VMM runs on",
          .enabled(if: mountNamespaceProblem == nil, Comment(rawValue: mountNamespaceProblem ?? "")))
    func fullFileSystem() throws {
        let image = try WorkloadImage(sectors: 1)  // the directory; the image is made on the tmpfs
        defer { image.remove() }
        let mountPoint = image.directory + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let vmm = try RunningVMM(
            ["run", "--kernel", Self.guestELF, "--memory", "64M", "--disk", mountPoint + "/disk.img",
             "--cmdline", "console=ttyS0 testguest.quiet testguest.diskio"],
            launcher: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", Self.fullFileSystemScript,
                       "sh", mountPoint, image.directory])
        #expect(vmm.exitStatus() == 0, "\(vmm.errors)")
        let ok = Array(repeating: "ok", count: 8), ioerr = Array(repeating: "IOERR", count: 8)
        #expect(vmm.lines.contains("diskio first: read: " + (ok + ok).joined(separator: " ")), "\(vmm.output)")
        #expect(vmm.lines.contains("diskio first: write: " + (ok + ioerr).joined(separator: " ")), "\(vmm.output)")
        #expect(vmm.lines.contains("diskio first: flush: ok"))
        // The first page's eight sectors hold what the guest wrote; the rest is a hole.
        let bytes = try image.contents()
        #expect(bytes.count == 64 * 512)
        for sector in 0..<64 {
            let actual = Array(bytes[sector * 512..<(sector + 1) * 512])
            #expect(actual == (sector < 8 ? WorkloadImage.sector(sector) : [UInt8](repeating: 0, count: 512)), "sector \(sector)")
        }
    }
}
