import HostIO
import Dispatch
import Foundation
import Testing
import Virtio
@testable import VMM

/// Files that are not regular files must be refused at once, whatever they are.
@Suite("Input files that are not regular files")
struct InputFileTests {
    /// Runs `body` with a FIFO at a fresh path. Should `body` hang in open(2) waiting for
    /// a writer, a writer comes after `patience` seconds, so the test fails instead of
    /// hanging; returns how long `body` took.
    func withFIFO(patience: Double = 5, _ body: (String) -> Void) throws -> Double {
        let images = try DiskImages()
        let path = images.directory + "/fifo"
        #expect(mkfifo(path, 0o600) == 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            if done.wait(timeout: .now() + patience) == .timedOut {
                // Opening the write end releases a reader blocked in open(2).
                let writer = open(path, O_WRONLY | O_NONBLOCK)
                if writer >= 0 { close(writer) }
            }
        }
        let started = Date()
        body(path)
        let elapsed = Date().timeIntervalSince(started)
        done.signal()
        return elapsed
    }

    @Test("a FIFO as the kernel, the initrd or a disk is refused at once as not a regular file, not waited on for a writer",
          arguments: ["kernel", "initrd", "disk", "read-only disk"])
    func fifo(role: String) throws {
        let elapsed = try withFIFO { path in
            do {
                switch role {
                case "kernel": _ = try HostFile.readAll(path, role: "kernel", limit: 64 << 20)
                case "initrd": close(try HostFile.open(path, role: "initrd").fd)
                default: _ = try RawDiskImage(path: path, readOnly: role == "read-only disk", sectorSize: VirtioBlock.sectorSize)
                }
                Issue.record("\(path) was accepted as the \(role)")
            } catch let error as HostFileError {
                let name = role.hasSuffix("disk") ? "disk" : role
                let disk = role.hasSuffix("disk")
                #expect(error.description == "\(name) \(path): not \(disk ? "a regular file or block device" : "a regular file")")
                #expect(error.problem == (disk ? .notRegularFileOrBlockDevice : .notRegularFile))
                #expect(MachineError.file(error).exitStatus == ExitStatus.badInput)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(elapsed < 2, "open(2) waited \(elapsed) s for a writer")
    }
}
