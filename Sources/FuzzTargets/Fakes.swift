import SystemErrors
import Devices
import GuestMemory
import Locking
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// An interrupt line that checks what a device promises of it.
final class CheckedLine: InterruptLine {
    private let level = Locked(false)
    /// Whether the device may drive the same level twice in a row (devices that model
    /// a wire, like the 16550A, tell the line only of changes).
    let onlyChanges: Bool

    init(onlyChanges: Bool) { self.onlyChanges = onlyChanges }

    func setLevel(_ high: Bool) {
        level.withLock { current in
            if onlyChanges { require(current != high, "the line is told only of changes (it is \(current))") }
            current = high
        }
    }

    var isHigh: Bool { level.withLock { $0 } }
}

/// Where a device's output bytes go, counted.
final class CountingSink: ByteSink {
    private let count = Locked(0)
    func write(_ bytes: [UInt8]) { count.withLock { $0 += bytes.count } }
    var total: Int { count.withLock { $0 } }
}

/// MSI-X messages, dropped.
struct DiscardedMessages: MSIDelivery {
    func deliver(_ message: MSIMessage) {}
}

/// A disk in host memory that checks the promise `BlockBackend` callers make: every
/// range is inside the disk and inside guest RAM, and a read-only disk is never written.
final class CheckedDisk: BlockBackend {
    let size: UInt64
    let readOnly: Bool
    private let bytes: Locked<[UInt8]>

    init(sectors: Int, readOnly: Bool) {
        size = UInt64(sectors) * VirtioBlock.sectorSize
        self.readOnly = readOnly
        bytes = Locked((0..<Int(size)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    }

    var serial: String { "fuzz-disk" }

    private func check(_ offset: UInt64, _ count: Int, _ memory: GuestMemory, _ address: GuestAddress) {
        require(count >= 0 && offset <= size && UInt64(count) <= size - offset,
                "a transfer of \(count) bytes at \(offset) stays inside the \(size)-byte disk")
        require(memory.contains(address, length: UInt64(count)), "the guest buffer at \(address) is RAM")
    }

    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        check(offset, count, memory, address)
        let data = bytes.withLock { Array($0[Int(offset)..<Int(offset) + count]) }
        do { try memory.write(bytes: data, at: address) } catch { require(false, "a checked buffer is writable") }
    }

    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        check(offset, count, memory, address)
        require(!readOnly, "a read-only disk is never written")
        let data: [UInt8]
        do { data = try memory.readBytes(at: address, count: count) } catch { require(false, "a checked buffer is readable"); return }
        bytes.withLock { $0.replaceSubrange(Int(offset)..<Int(offset) + count, with: data) }
    }

    func flush() throws(SystemCallError) {}
}

/// Guest RAM reused by the runs on one thread (mapping it anew for every input would
/// cost more than the run), zeroed before each use. One per thread, because the tests
/// replay inputs on several threads at once; libFuzzer runs one input at a time.
enum FuzzMemory {
    /// 64 KiB: small enough that fuzzed addresses often land inside it.
    static let size: UInt64 = 0x1_0000
    private static let byThread = Locked<[pthread_t: GuestMemory]>([:])

    /// This thread's guest memory, as the last run left it.
    static var current: GuestMemory {
        byThread.withLock { memories in
            let thread = pthread_self()
            if let memory = memories[thread] { return memory }
            do {
                let memory = try GuestMemory(size: size)
                memories[thread] = memory
                return memory
            } catch {
                fatalError("cannot map guest memory: \(error)")
            }
        }
    }

    /// This thread's guest memory, zeroed.
    static func fresh() -> GuestMemory {
        let memory = current
        do { try memory.zero(at: GuestAddress(0), count: Int(size)) } catch { fatalError("\(error)") }
        return memory
    }
}
