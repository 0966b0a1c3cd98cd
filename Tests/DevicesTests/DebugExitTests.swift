import Locking
import Testing

@testable import Devices

@Suite("DebugExit (isa-debug-exit)")
struct DebugExitTests {
    @Test("isa-debug-exit: a write of v asks the machine to exit with v", arguments: [1, 2, 4])
    func writeExits(size: Int) {
        var device = DebugExit()
        #expect(device.write(offset: 0, size: size, value: 0x31) == .debugExit(value: 0x31))
    }

    @Test("isa-debug-exit: only the bytes written count")
    func valueIsMaskedToSize() {
        var device = DebugExit()
        #expect(device.write(offset: 0, size: 1, value: 0x1234) == .debugExit(value: 0x34))
        #expect(device.write(offset: 0, size: 2, value: 0x12_3456) == .debugExit(value: 0x3456))
        #expect(
            device.write(offset: 0, size: 4, value: 0xdead_beef) == .debugExit(value: 0xdead_beef))
    }

    @Test("isa-debug-exit: reads answer as an absent port")
    func readsAllOnes() {
        var device = DebugExit()
        #expect(device.read(offset: 0, size: 1) == 0xff)
        #expect(device.read(offset: 0, size: 4) == 0xffff_ffff)
    }
}

@Suite("AbsentDevice")
struct AbsentDeviceTests {
    @Test(
        "ISA: a port with nothing behind it reads all ones for the access size",
        arguments: [(1, 0xff), (2, 0xffff), (4, 0xffff_ffff), (8, UInt64.max)] as [(Int, UInt64)])
    func readsAllOnes(size: Int, expected: UInt64) {
        let device = AbsentDevice(name: "com2")
        #expect(device.read(offset: 3, size: size) == expected)
    }

    @Test("ISA: writes to an absent port go nowhere")
    func writesIgnored() {
        let device = AbsentDevice(name: "post")
        #expect(device.write(offset: 0, size: 1, value: 0x42) == .none)
        #expect(device.read(offset: 0, size: 1) == 0xff)
    }
}

@Suite("BootTimer (Firecracker's --boot-timer)")
struct BootTimerTests {
    @Test("only a 1-byte write of 123 at offset 0 signals; reads answer 0")
    func magicWrite() {
        let signals = Locked(0)
        var timer = BootTimer { signals.withLock { $0 += 1 } }
        #expect(timer.write(offset: 0, size: 1, value: 122) == .none)
        #expect(timer.write(offset: 1, size: 1, value: 123) == .none)
        #expect(timer.write(offset: 0, size: 4, value: 123) == .none)
        #expect(signals.withLock { $0 } == 0)
        #expect(timer.write(offset: 0, size: 1, value: 0x17b) == .none, "the byte written is 0x7b, 123")
        #expect(signals.withLock { $0 } == 1)
        #expect(timer.read(offset: 0, size: 4) == 0)
    }
}
