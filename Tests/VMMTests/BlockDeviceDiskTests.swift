import Foundation
import HostIO
import Testing
import Virtio
@testable import VMM

/// A loop device over `file`, for as long as the value lives; nil (with the reason
/// printed) where this host cannot make one (no root, no loop driver).
final class LoopDevice {
    let path: String

    init?(backing file: String) {
        let attach = Process()
        attach.executableURL = URL(fileURLWithPath: "/sbin/losetup")
        attach.arguments = ["--find", "--show", file]
        let output = Pipe()
        attach.standardOutput = output
        attach.standardError = Pipe()
        guard (try? attach.run()) != nil else { return nil }
        attach.waitUntilExit()
        let name = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard attach.terminationStatus == 0, name.hasPrefix("/dev/") else { return nil }
        path = name
    }

    deinit {
        let detach = Process()
        detach.executableURL = URL(fileURLWithPath: "/sbin/losetup")
        detach.arguments = ["--detach", path]
        try? detach.run()
        detach.waitUntilExit()
    }

    /// Why tests that need one are skipped, or nil when one can be made here.
    static let problem: String? = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmm-loop-probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard FileManager.default.createFile(atPath: probe, contents: Data(count: 512)),
              LoopDevice(backing: probe) != nil
        else {
            let reason = "skipped: no loop device can be made here (losetup needs root and the loop driver)"
            print(reason)
            return reason
        }
        return nil
    }()
}

@Suite("A host block device as a disk", .enabled(if: KVMAvailability.available, KVMAvailability.reason),
       .enabled(if: LoopDevice.problem == nil, Comment(rawValue: LoopDevice.problem ?? "")))
struct BlockDeviceDiskTests {
    @Test("a loop device is a disk: its size comes from BLKGETSIZE64, the guest reads and writes it, and the write reaches the file behind it")
    func loopDevice() throws {
        let images = try DiskImages()
        let file = try images.make("loop.img", sectors: 64)
        let device = try #require(LoopDevice(backing: file))
        let image = try RawDiskImage(path: device.path, readOnly: false, sectorSize: VirtioBlock.sectorSize)
        #expect(image.size == 64 * 512)
        #expect(image.serial.hasPrefix("blk-"))
        image.close()

        let (output, report) = try boot(
            commandLine: "console=ttyS0 testguest.quiet testguest.disk", disks: [DiskConfiguration(path: device.path)])
        #expect(report.reason == .reset)
        #expect(report.flushFailures.isEmpty)
        #expect(output.contains("disk0: read sector 0: fnv " + fnv1a(DiskImages.pattern(sectors: 64)[0..<512])), "\(output)")
        #expect(output.contains("disk0: write sector 1: ok"))
        #expect(output.contains("disk0: flush: ok"))
        var expected = DiskImages.pattern(sectors: 64)
        expected.replaceSubrange(512..<1024, with: guestPattern(disk: 0))
        #expect(try images.contents(file) == expected)
    }
}
