import HostIO
import SystemErrors
import Dispatch
import Foundation
import GuestMemory
import KVM
import Locking
import Testing
import Virtio
@testable import VMM

/// A disk image whose host I/O fails where a test says: reads or writes touching given
/// sectors, and flushes once `flushFails` is set. It records every operation that
/// reached the image.
final class FaultyImage: BlockBackend {
    enum Operation: Equatable { case read(sector: UInt64), write(sector: UInt64), flush }

    private let image: RawDiskImage
    private let failingReads: Set<UInt64>, failingWrites: Set<UInt64>
    private let state = Locked<(operations: [Operation], flushFails: Bool)>(([], false))

    init(_ image: RawDiskImage, failingReads: Set<UInt64> = [], failingWrites: Set<UInt64> = []) {
        self.image = image
        self.failingReads = failingReads
        self.failingWrites = failingWrites
    }

    var size: UInt64 { image.size }
    var serial: String { image.serial }
    var operations: [Operation] { state.withLock { $0.operations } }
    var flushFails: Bool {
        get { state.withLock { $0.flushFails } }
        set { state.withLock { $0.flushFails = newValue } }
    }

    private static func sectors(_ offset: UInt64, _ count: Int) -> ClosedRange<UInt64> {
        offset / 512...(offset + UInt64(max(count, 1)) - 1) / 512
    }

    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        let sectors = Self.sectors(offset, count)
        guard !sectors.contains(where: failingReads.contains) else { throw SystemCallError("pread", Errno(EIO)) }
        try image.read(at: offset, into: memory, at: address, count: count)
        state.withLock { $0.operations.append(.read(sector: sectors.lowerBound)) }
    }

    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        let sectors = Self.sectors(offset, count)
        guard !sectors.contains(where: failingWrites.contains) else { throw SystemCallError("pwrite", Errno(EIO)) }
        try image.write(at: offset, from: memory, at: address, count: count)
        state.withLock { $0.operations.append(.write(sector: sectors.lowerBound)) }
    }

    func flush() throws(SystemCallError) {
        guard !flushFails else { throw SystemCallError("fdatasync", Errno(EIO)) }
        try image.flush()
        state.withLock { $0.operations.append(.flush) }
    }

    func close() { image.close() }
}

/// What the test guest's workloads (guest-images/testguest/faults.c) write to sector `s`.
func workloadSector(_ sector: Int) -> [UInt8] {
    withUnsafeBytes(of: (0x5357_564d_4d57_5254 ^ UInt64(sector)).littleEndian) { Array($0) }
        + (8..<512).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}

/// A statuses line of testguest.diskio: `pattern` repeated per sector range.
func diskioStatuses(_ runs: [(String, Int)]) -> String {
    runs.flatMap { Array(repeating: $0.0, count: $0.1) }.joined(separator: " ")
}

/// The host fails the disk under a running guest: I/O errors, a flush that fails, the
/// image truncated or deleted. The guest sees IOERR where the host failed and nowhere
/// else, and the VMM runs on to the guest's own end.
@Suite("Host disk faults on KVM: EIO, failed flushes, the image truncated or deleted under the guest",
       .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct HostDiskFaultTests {
    /// Boots testguest.diskio on `image` (16 sectors, zero), behind `backend`. With
    /// `duringPause`, the guest pauses after its first round; `duringPause` runs, then a
    /// console byte sends the guest on to its second round.
    func diskio(
        _ image: String, io: DiskConfiguration.IOMode = .vcpu, backend: @escaping (RawDiskImage) -> any BlockBackend = { $0 },
        duringPause: (@Sendable () -> Void)? = nil
    ) throws -> (lines: [String], report: MachineReport) {
        let output = CapturedOutput()
        var input: [Int32] = [-1, -1]
        #expect(pipe(&input) == 0)
        defer { close(input[0]); close(input[1]) }
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF),
            commandLine: "console=ttyS0 testguest.quiet testguest.diskio" + (duringPause == nil ? "" : " testguest.pause"),
            memorySize: 64 << 20, disks: [DiskConfiguration(path: image, io: io)])
        let machine = try Machine.build(
            configuration, console: Console(output: output, inputFD: input[0]), kvmPath: KVMSystem.defaultPath,
            extraFlushes: [], diskBackend: backend)
        if let duringPause {
            let writeEnd = input[1]
            DispatchQueue(label: "test.pause").async {
                while !output.text.contains("diskio: paused") { usleep(2000) }
                duringPause()
                _ = write(writeEnd, "x", 1)
            }
        }
        let report = machine.run()
        return (unixLines(output.text).split(separator: "\n").map(String.init), report)
    }

    func zeroImage(_ images: DiskImages, sectors: Int = 16) throws -> String {
        try images.make("disk.img", bytes: [UInt8](repeating: 0, count: sectors * 512))
    }

    @Test("EIO from the host on a read or a write answers that request IOERR, and only that one; a failed flush answers IOERR and is reported when the machine stops",
          arguments: [DiskConfiguration.IOMode.vcpu, .thread])
    func ioErrors(io: DiskConfiguration.IOMode) throws {
        let images = try DiskImages()
        let path = try zeroImage(images)
        let faulty = Locked<FaultyImage?>(nil)
        let (lines, report) = try diskio(path, io: io, backend: { image in
            let backend = FaultyImage(image, failingReads: [3], failingWrites: [5, 6])
            faulty.withLock { $0 = backend }
            return backend
        }, duringPause: { faulty.withLock { $0?.flushFails = true } })
        #expect(lines.contains("diskio first: read: " + diskioStatuses([("ok", 3), ("IOERR", 1), ("ok", 12)])), "\(lines)")
        #expect(lines.contains("diskio first: write: " + diskioStatuses([("ok", 5), ("IOERR", 2), ("ok", 9)])), "\(lines)")
        #expect(lines.contains("diskio first: flush: ok"))
        #expect(lines.contains("diskio second: flush: IOERR"))
        #expect(lines.contains("Goodbye: exiting with status 0."))
        #expect(report.reason == .reset)
        #expect(report.flushFailures.map(\.description) == ["disk \(path): flush failed: fdatasync failed: Input/output error (EIO)"])
        // Every write that succeeded is in the image; the failed ones left zeros.
        let bytes = try images.contents(path)
        for sector in 0..<16 {
            let expected = [5, 6].contains(sector) ? [UInt8](repeating: 0, count: 512) : workloadSector(sector)
            #expect(Array(bytes[sector * 512..<(sector + 1) * 512]) == expected, "sector \(sector)")
        }
    }

    @Test("the image truncated to half under the running guest: reads past the new end answer IOERR, writes succeed and grow the file again")
    func truncated() throws {
        let images = try DiskImages()
        let path = try zeroImage(images)
        let (lines, report) = try diskio(path, duringPause: { _ = truncate(path, 8 * 512) })
        let all = diskioStatuses([("ok", 16)])
        #expect(lines.contains("diskio first: read: " + all))
        #expect(lines.contains("diskio second: read: " + diskioStatuses([("ok", 8), ("IOERR", 8)])), "\(lines)")
        #expect(lines.contains("diskio second: write: " + all))
        #expect(lines.contains("diskio second: flush: ok"))
        #expect(report.reason == .reset)
        #expect(report.flushFailures.isEmpty)
        #expect(try images.contents(path) == (0..<16).flatMap(workloadSector))
    }

    @Test("the image deleted under the running guest: the open file lives on, every request succeeds, the machine stops cleanly")
    func deleted() throws {
        let images = try DiskImages()
        let path = try zeroImage(images)
        let (lines, report) = try diskio(path, duringPause: { _ = unlink(path) })
        let all = diskioStatuses([("ok", 16)])
        for round in ["first", "second"] {
            #expect(lines.contains("diskio \(round): read: " + all), "\(lines)")
            #expect(lines.contains("diskio \(round): write: " + all))
            #expect(lines.contains("diskio \(round): flush: ok"))
        }
        #expect(report.reason == .reset)
        #expect(report.flushFailures.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("stopped (as by SIGTERM) in the middle of the guest's writes: the machine's last act on the image is a flush, after every write",
          arguments: [DiskConfiguration.IOMode.vcpu, .thread])
    func stopFlushesLast(io: DiskConfiguration.IOMode) throws {
        let images = try DiskImages()
        let path = try zeroImage(images, sectors: 4096)
        let faulty = Locked<FaultyImage?>(nil)
        let output = CapturedOutput()
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF), commandLine: "console=ttyS0 testguest.quiet testguest.writer",
            memorySize: 64 << 20, disks: [DiskConfiguration(path: path, io: io)])
        let machine = try Machine.build(
            configuration, console: Console(output: output, inputFD: nil), kvmPath: KVMSystem.defaultPath, extraFlushes: [],
            diskBackend: { image in
                let backend = FaultyImage(image)
                faulty.withLock { $0 = backend }
                return backend
            })
        DispatchQueue(label: "test.stop").async {
            while output.text.components(separatedBy: "written and flushed").count < 5 { usleep(1000) }
            machine.stop(.signal(SIGTERM))
        }
        let report = machine.run()
        #expect(report.reason == .signal(SIGTERM))
        #expect(!output.text.contains("writer: done"))
        let operations = try #require(faulty.withLock { $0 }).operations
        let guestFlushes = output.text.components(separatedBy: "written and flushed").count - 1
        #expect(operations.last == .flush)
        #expect(operations.filter { $0 == .flush }.count >= guestFlushes + 1)
    }
}
