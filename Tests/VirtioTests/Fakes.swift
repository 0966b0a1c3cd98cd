import SystemErrors
#if canImport(Glibc)
import Glibc
#endif
import Locking
import CUAPI
import Devices
import GuestMemory
@testable import Virtio

/// A disk in host memory that can be told to fail.
final class MemoryDisk: BlockBackend {
    private let state: Locked<(bytes: [UInt8], failing: Bool, flushes: Int, failFlushes: Bool)>
    let serial: String
    let size: UInt64

    init(sectors: Int, serial: String = "fake-disk-serial-0123456789") {
        // Sector n is filled with n + 1 (mod 256): reads are recognizable.
        var bytes: [UInt8] = []
        for sector in 0..<sectors { bytes += [UInt8](repeating: UInt8(truncatingIfNeeded: sector + 1), count: 512) }
        self.state = Locked((bytes, false, 0, false))
        self.serial = serial
        self.size = UInt64(bytes.count)
    }

    var bytes: [UInt8] { state.withLock { $0.bytes } }
    var flushes: Int { state.withLock { $0.flushes } }
    /// While true, flushes fail with EIO (and only they).
    var failFlushes: Bool {
        get { state.withLock { $0.failFlushes } }
        set { state.withLock { $0.failFlushes = newValue } }
    }
    /// While true, every operation fails with EIO.
    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }

    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        let data: [UInt8]? = state.withLock { $0.failing ? nil : Array($0.bytes[Int(offset)..<Int(offset) + count]) }
        guard let data else { throw SystemCallError("read", Errno(EIO)) }
        do { try memory.write(bytes: data, at: address) } catch { throw SystemCallError("read", Errno(EFAULT)) }
    }

    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        let data: [UInt8]
        do { data = try memory.readBytes(at: address, count: count) } catch { throw SystemCallError("write", Errno(EFAULT)) }
        let failed: Bool = state.withLock { state in
            if state.failing { return true }
            state.bytes.replaceSubrange(Int(offset)..<Int(offset) + count, with: data)
            return false
        }
        if failed { throw SystemCallError("write", Errno(EIO)) }
    }

    func flush() throws(SystemCallError) {
        let failed: Bool = state.withLock { state in
            if state.failing || state.failFlushes { return true }
            state.flushes += 1
            return false
        }
        if failed { throw SystemCallError("fdatasync", Errno(EIO)) }
    }
}

/// An interrupt line that counts edges and calls, and remembers its level.
final class CountingLine: InterruptLine {
    private let state = Locked<(level: Bool, rises: Int, calls: Int)>((false, 0, 0))
    func setLevel(_ high: Bool) {
        state.withLock { state in
            if high && !state.level { state.rises += 1 }
            state.level = high
            state.calls += 1
        }
    }
    var rises: Int { state.withLock { $0.rises } }
    /// setLevel calls, changes or not: each is a KVM_IRQ_LINE ioctl on a real line.
    var calls: Int { state.withLock { $0.calls } }
    var isHigh: Bool { state.withLock { $0.level } }
}
