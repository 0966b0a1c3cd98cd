import Foundation
import Testing
@testable import FuzzTargets

/// The fuzz targets' committed inputs, replayed as unit tests: the seed corpus
/// (fuzz/corpus/TARGET) and every input a fuzzer once found a failure with
/// (fuzz/regressions/TARGET), so a fixed crash stays fixed.
@Suite("Fuzz targets: the corpus and past findings replay cleanly")
struct CorpusTests {
    static let root = repositoryRoot + "/fuzz"

    static func files(_ kind: String, _ target: String) -> [String] {
        let folder = root + "/\(kind)/\(target)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.sorted().map { folder + "/" + $0 }
    }

    @Test("every target has a committed seed corpus holding exactly the seeds its code describes",
          arguments: FuzzTargets.all.map { $0.name })
    func seedsCommitted(name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        #expect(!target.seeds.isEmpty)
        for (index, seed) in target.seeds.enumerated() {
            let path = Self.root + "/corpus/\(name)/seed-\(index)"
            let committed = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
            #expect(committed == seed, "\(path) differs from \(name)'s seeds: run scripts/fuzz.sh --write-seeds")
        }
    }

    @Test("every corpus input and every past finding runs through its target", arguments: FuzzTargets.all.map { $0.name })
    func replay(name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let inputs = Self.files("corpus", name) + Self.files("regressions", name)
        #expect(!inputs.isEmpty)
        for path in inputs {
            target.run([UInt8](try #require(FileManager.default.contents(atPath: path))))
        }
    }

    @Test("inputs of every length, including none, are complete runs", arguments: FuzzTargets.all.map { $0.name })
    func shortInputs(name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        for length in 0..<64 {
            target.run((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) })
        }
    }
}

/// The seeds are worth starting from only if they reach deep: a driver's whole
/// initialization, then requests the device executes.
@Suite("Fuzz seeds reach the device's requests")
struct SeedDepthTests {
    /// The five status bytes of RingSeed's requests, after a run.
    func statuses() throws -> [UInt8] {
        try FuzzMemory.current.readBytes(at: .init(UInt64(RingSeed.statusBytes)), count: RingSeed.requests)
    }

    /// The used ring's index: how many requests the device completed.
    func completed() throws -> UInt16 {
        try FuzzMemory.current.read(UInt16.self, at: .init(UInt64(RingSeed.used + 2)))
    }

    @Test("the ring seed's status bytes start as 0xff, so only the device can make them OK")
    func statusesStartUnanswered() {
        let image = RingSeed.memory.bytes
        #expect(Array(image[RingSeed.statusBytes..<RingSeed.statusBytes + RingSeed.requests]) == [0xff, 0xff, 0xff, 0xff, 0xff])
    }

    @Test("virtio-mmio: the seed brings the device to DRIVER_OK and all five requests answer OK")
    func mmio() throws {
        let device = VirtioMMIOTarget.device(after: try #require(VirtioMMIOTarget.seeds.first))
        #expect(device.status.rawValue == 0xf)
        #expect(try completed() == 5)
        #expect(try statuses() == [0, 0, 0, 0, 0])
    }

    @Test("virtio-pci: the seed enables the function, brings the device to DRIVER_OK, and all five requests answer OK")
    func pci() throws {
        let machine = VirtioPCITarget.machine(after: try #require(VirtioPCITarget.seeds.first))
        #expect(machine.disk.status.rawValue == 0xf)
        #expect(try completed() == 5)
        #expect(try statuses() == [0, 0, 0, 0, 0])
    }
}
