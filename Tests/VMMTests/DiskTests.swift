import HostIO
import SystemErrors
import Locking
import Foundation
import GuestMemory
import KVM
import Synchronization
import Testing
import Virtio
@testable import VMM

/// Disk images in a temporary directory, filled with a pattern the test guest's
/// checksums can be compared with: byte o of the image is (7o + o / 512) mod 256.
final class DiskImages {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftvmm-disks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func pattern(sectors: Int) -> [UInt8] {
        (0..<sectors * 512).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 512) }
    }

    /// Creates `name` with `sectors` sectors of the pattern (or `bytes`); returns its path.
    func make(_ name: String, sectors: Int = 64, bytes: [UInt8]? = nil) throws -> String {
        let path = directory + "/" + name
        try Data(bytes ?? Self.pattern(sectors: sectors)).write(to: URL(fileURLWithPath: path))
        return path
    }

    func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
}

/// The checksum the test guest prints for what it read (32-bit FNV-1a).
func fnv1a(_ bytes: ArraySlice<UInt8>) -> String {
    var hash: UInt32 = 2_166_136_261
    for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    let digits = String(hash, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

/// What the test guest writes to sector 1 of its n-th disk.
func guestPattern(disk: Int) -> [UInt8] { (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 0x5a &+ disk) } }

@Suite("virtio-blk on KVM: the test guest's drivers against real images", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct DiskTests {
    static let modes: [(DiskConfiguration.Transport, DiskConfiguration.IOMode)] = [
        (.pci, .thread), (.pci, .vcpu), (.mmio, .thread), (.mmio, .vcpu),
    ]

    @Test("read, write, flush, GET_ID, past-end and read-only errors; the host file holds exactly what the guest wrote",
          arguments: modes)
    func guestDrivesTheDisks(transport: DiskConfiguration.Transport, io: DiskConfiguration.IOMode) throws {
        let images = try DiskImages()
        let writable = try images.make("rw.img"), readOnly = try images.make("ro.img")
        let original = DiskImages.pattern(sectors: 64)
        let (output, report) = try boot(
            commandLine: "console=ttyS0 testguest.quiet testguest.disk",
            disks: [DiskConfiguration(path: writable, transport: transport, io: io),
                    DiskConfiguration(path: readOnly, readOnly: true, transport: transport, io: io)])
        #expect(report.reason == .reset)
        #expect(report.flushFailures.isEmpty)
        let lines = output.split(whereSeparator: \.isNewline).map(String.init)
        func says(_ line: String) { #expect(lines.contains(line), "missing: \(line)\n\(output)") }
        says("disks: 2")
        for (disk, description) in [(0, "read-write"), (1, "read-only")] {
            let prefix = "disk\(disk): "
            #expect(lines.contains { $0.hasPrefix(prefix + transport.rawValue) && $0.hasSuffix("64 sectors, " + description) }, "\(output)")
            says(prefix + "read sector 0: fnv " + fnv1a(original[0..<512]))
            says(prefix + "read last sector through an indirect table: fnv " + fnv1a(original[63 * 512..<64 * 512]))
            says(prefix + "interrupt status after a request: 0x1")
            says(prefix + "read past the end: IOERR")
            says(prefix + "unknown request type: UNSUPP")
            #expect(lines.contains { $0.hasPrefix(prefix + "get id: \"") && $0.count > prefix.count + 10 })
            switch transport {
            case .pci: says(prefix + "MSI-X vector 0x4\(disk): delivered")
            case .mmio: says(prefix + "interrupt line \(5 + disk): raised")
            }
        }
        says("disk0: write sector 1: ok")
        says("disk0: flush: ok")
        says("disk0: read back sector 1: matches")
        says("disk1: write to a read-only disk: IOERR")
        if transport == .pci {
            says("pci: 00:00.0 0x1b36:0x0008 class 0x060000")
            says("pci: 00:01.0 0x1af4:0x1042 class 0x018000")
        }

        var expected = original
        expected.replaceSubrange(512..<1024, with: guestPattern(disk: 0))
        #expect(try images.contents(writable) == expected)
        #expect(try images.contents(readOnly) == original)
    }

    @Test("virtio v1.2 2.7.13: a full queue of requests in flight, 4 KiB and 1 MiB each, is answered in full; writes reach the image",
          arguments: modes)
    func requestsInFlight(transport: DiskConfiguration.Transport, io: DiskConfiguration.IOMode) throws {
        let images = try DiskImages()
        let sectors = 8 << 11  // 8 MiB: 1 MiB requests wrap round it
        let path = try images.make("bench.img", sectors: sectors)
        // The test guest's benchmark: depth=max keeps 85 chains of three descriptors in its
        // 256-entry queue; its 1 MiB buffers need RAM up to about 88 MiB.
        let workloads = [
            ("300,depth=max", "300 reads of 4096 bytes, depth 85"),
            ("7,depth=3,write", "7 writes of 4096 bytes, depth 3"),
            ("40,size=1M,depth=max", "40 reads of 1048576 bytes, depth 85"),
            ("40,size=1M,depth=max,write", "40 writes of 1048576 bytes, depth 85"),
        ]
        for (option, result) in workloads {
            let (output, report) = try boot(
                commandLine: "console=ttyS0 testguest.quiet testguest.diskbench=" + option,
                memory: 128 << 20, disks: [DiskConfiguration(path: path, transport: transport, io: io)])
            #expect(report.reason == .reset)
            #expect(output.contains("diskbench: \(result), 0 failed"), "\(option): \(output)")
        }
        // 40 writes of 1 MiB from never-written (zero) guest RAM cover the whole image.
        #expect(try images.contents(path) == [UInt8](repeating: 0, count: sectors * 512))
    }

    @Test("when run() returns, every image is closed and unlocked, though the machine is still alive", arguments: modes)
    func imagesReleasedAtStop(transport: DiskConfiguration.Transport, io: DiskConfiguration.IOMode) throws {
        let images = try DiskImages()
        let path = try images.make("a.img")
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF), commandLine: "console=ttyS0 testguest.quiet testguest.disk",
            memorySize: 64 << 20, disks: [DiskConfiguration(path: path, transport: transport, io: io)])
        let machine = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil))
        #expect(throws: HostFileError.self) { _ = try RawDiskImage(path: path, readOnly: false, sectorSize: VirtioBlock.sectorSize) }  // locked while it runs
        let report = machine.run()
        #expect(report.reason == .reset)
        let next = try RawDiskImage(path: path, readOnly: false, sectorSize: VirtioBlock.sectorSize)  // the next VM's, at once
        withExtendedLifetime(machine) { next.close() }
    }

    @Test("io=thread: notifications reach the I/O thread through ioeventfds, also after the guest moves the BARs",
          arguments: [false, true])
    func ioeventfdsFollowTheBAR(moveBARs: Bool) throws {
        let images = try DiskImages()
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF),
            commandLine: "console=ttyS0 testguest.quiet testguest.disk" + (moveBARs ? " testguest.movebar" : ""),
            memorySize: 64 << 20,
            disks: [DiskConfiguration(path: try images.make("a.img"), io: .thread),
                    DiskConfiguration(path: try images.make("b.img"), transport: .mmio, io: .thread)])
        let output = CapturedOutput()
        let machine = try Machine.build(configuration, console: Console(output: output, inputFD: nil))
        let report = machine.run()
        #expect(report.reason == .reset)
        #expect(output.text.contains("disk0: read back sector 1: matches"))
        #expect(output.text.contains("disk1: read back sector 1: matches"))
        // Nine and eight requests, one at a time: each wakes the I/O thread (wake-ups
        // may merge). Notifications that missed the ioeventfd would go the vCPU path
        // and leave these counts at 0.
        for disk in machine.disks {
            #expect(disk.service.notificationsServed > 0, "\(disk.name): \(disk.service.notificationsServed)")
        }
    }

    @Test("--boot-timer: the guest's byte at 0xd0000000 is timed once, and a virtio-mmio disk moves a page up and still works")
    func bootTimer() throws {
        let images = try DiskImages()
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF),
            commandLine: "console=ttyS0 testguest.quiet testguest.boottimer testguest.disk",
            memorySize: 64 << 20,
            disks: [DiskConfiguration(path: try images.make("b.img"), transport: .mmio)])
        let output = CapturedOutput()
        let times = Locked<[(wall: UInt64, cpu: UInt64)]>([])
        let origin = MonotonicClock.now()
        let machine = try Machine.build(
            configuration, console: Console(output: output, inputFD: nil),
            instrumentation: Instrumentation(origin: origin, bootTimer: { wall, cpu in times.withLock { $0.append((wall, cpu)) } }))
        #expect(machine.platform.virtioMMIODevices.map(\.address)
                == [GuestAddress(Layout.bootTimer.rawValue + Layout.virtioMMIODeviceSize)])
        let report = machine.run()
        let elapsed = MonotonicClock.now() - origin
        #expect(report.reason == .reset, "\(output.text)")
        #expect(output.text.contains("boot timer: written"))
        #expect(output.text.contains("disk0: read back sector 1: matches"), "\(output.text)")
        let recorded = times.withLock { $0 }
        #expect(recorded.count == 1)
        if let time = recorded.first {
            #expect(time.wall > 0 && time.wall < elapsed, "\(time.wall) ns, the run took \(elapsed) ns")
            #expect(time.cpu > 0)
        }
    }

    @Test("the ACPI tables describe the PCI host bridge, its INTx routes and the virtio-mmio devices")
    func platformDevices() throws {
        let images = try DiskImages()
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF), memorySize: 64 << 20,
            disks: [DiskConfiguration(path: try images.make("a.img")),
                    DiskConfiguration(path: try images.make("b.img"), transport: .mmio),
                    DiskConfiguration(path: try images.make("c.img"))])
        let machine = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil))
        let platform = machine.platform
        let bridge = try #require(platform.pciHostBridge)
        #expect(bridge.configurationPorts == (0xcf8, 8))
        #expect(bridge.memoryWindow.lowerBound == UInt32(Layout.pciMMIOWindow.rawValue))
        #expect(bridge.routes == [.init(device: 1, pin: 0, gsi: 16), .init(device: 2, pin: 0, gsi: 17)])
        #expect(platform.virtioMMIODevices == [.init(address: Layout.virtioMMIODevices, gsi: 5, trigger: .edge)])
    }
}

@Suite("Disk images: bad input is refused before a VM exists")
struct DiskImageInputTests {
    @Test("a size that is not a multiple of 512, a missing file and a directory are named errors")
    func badImages() throws {
        let images = try DiskImages()
        let odd = try images.make("odd.img", bytes: [UInt8](repeating: 0, count: 1000))
        for (path, message) in [
            (odd, "disk \(odd): its size, 1000 bytes, is not a positive multiple of 512"),
            (images.directory + "/missing.img", "disk \(images.directory)/missing.img: cannot open: No such file or directory (ENOENT)"),
            (images.directory, "disk \(images.directory): cannot open: Is a directory (EISDIR)"),
        ] {
            do {
                _ = try RawDiskImage(path: path, readOnly: false, sectorSize: VirtioBlock.sectorSize)
                Issue.record("\(path) was accepted")
            } catch {
                #expect(error.description == message)
                #expect(MachineError.file(error).exitStatus == ExitStatus.badInput)
            }
        }
    }

    @Test("an image a VM holds is locked: a second writer or reader is refused by name; readers share")
    func locking() throws {
        let images = try DiskImages()
        let path = try images.make("shared.img")
        do {
            let first = try RawDiskImage(path: path, readOnly: false, sectorSize: VirtioBlock.sectorSize)
            for readOnly in [false, true] {
                #expect(throws: HostFileError.self) { try RawDiskImage(path: path, readOnly: readOnly, sectorSize: VirtioBlock.sectorSize) }
            }
            do {
                _ = try RawDiskImage(path: path, readOnly: true, sectorSize: VirtioBlock.sectorSize)
            } catch {
                #expect(error.description == "disk \(path): in use by another VM or another --disk (the image is locked)")
            }
            _ = first
        }
        // Released with the first image: two readers may now share it.
        let reader = try RawDiskImage(path: path, readOnly: true, sectorSize: VirtioBlock.sectorSize)
        let another = try RawDiskImage(path: path, readOnly: true, sectorSize: VirtioBlock.sectorSize)
        #expect(throws: HostFileError.self) { try RawDiskImage(path: path, readOnly: false, sectorSize: VirtioBlock.sectorSize) }
        _ = (reader, another)
    }

    @Test("a machine with a locked image is not built, and names the image")
    func machineRefusesLockedImage() throws {
        let images = try DiskImages()
        let path = try images.make("busy.img")
        let holder = try RawDiskImage(path: path, readOnly: false, sectorSize: VirtioBlock.sectorSize)
        let configuration = MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20, disks: [DiskConfiguration(path: path)])
        do {
            _ = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil), kvmPath: "/nonexistent/kvm")
            Issue.record("the machine was built")
        } catch {
            // The image is checked before /dev/kvm is even opened.
            #expect(error.description.contains("disk \(path): in use"))
            #expect(error.exitStatus == ExitStatus.badInput)
        }
        _ = holder
    }
}

/// A backend that counts flushes and can be told to fail them.
final class FlushCountingBackend: BlockBackend, @unchecked Sendable {
    // @unchecked: the test touches the counters only before and after the service runs.
    var flushes = 0
    var failing = false
    let size: UInt64 = 512
    let serial = "counting"
    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {}
    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {}
    func flush() throws(SystemCallError) {
        if failing { throw SystemCallError("fdatasync", Errno(EIO)) }
        flushes += 1
    }
}

@Suite("Stopping: disks are flushed once the vCPUs are out", .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct DiskStopTests {
    @Test("stopAndFlush flushes the backend, after the I/O thread's last request; a failed flush is reported by name")
    func flushOnStop() throws {
        let vm = try KVMSystem().createVM()
        let backend = FlushCountingBackend()
        let started = Atomic<Bool>(false)
        let served = Locked<[Int]>([])
        let service = try VirtioService(name: "virtio-blk-test", vm: vm, faults: HostFaults(output: nil)) { queue in
            started.store(true, ordering: .releasing)
            usleep(50_000)  // a request still being served when the stop comes
            served.withLock { $0.append(queue) }
        }
        let disk = Disk(name: "virtio-blk-test", path: "/tmp/test.img", backend: backend, monitor: nil, service: service)
        try service.listen(queue: 0, at: .init(address: 0xc000_3000, length: 2))
        // Wake the I/O thread as a guest's notification would, and stop mid-request.
        service.kick(queue: 0)
        while !started.load(ordering: .acquiring) { usleep(1000) }
        try disk.stopAndFlush()
        #expect(served.withLock { $0 } == [0])
        #expect(backend.flushes == 1)
        backend.failing = true
        // The machine reports it by the image's path (DeviceFlush.runAll).
        let flush = DeviceFlush(device: "disk \(disk.path)") { try disk.stopAndFlush() }
        #expect(DeviceFlush.runAll([flush]).map(\.description) == ["disk /tmp/test.img: flush failed: fdatasync failed: Input/output error (EIO)"])
    }
}
