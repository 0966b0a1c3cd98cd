import Devices
import KVM
import Locking
import Testing
@testable import VMM

/// A device that records writes and answers reads with a fixed value.
struct RecordingDevice: BusDevice {
    let name = "recorder"
    let log: RecordingLog
    var answer: UInt64 = 0x42
    var effect: DeviceEffect = .none

    mutating func read(offset: UInt64, size: Int) -> UInt64 { answer }

    mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        log.append(offset: offset, size: size, value: value)
        return effect
    }
}

final class RecordingLog: Sendable {
    private let entries = Locked<[(UInt64, Int, UInt64)]>([])
    func append(offset: UInt64, size: Int, value: UInt64) { entries.withLock { $0.append((offset, size, value)) } }
    var all: [(offset: UInt64, size: Int, value: UInt64)] { entries.withLock { $0.map { ($0.0, $0.1, $0.2) } } }
}

/// The data of one exit, as a fake vCPU holds it.
final class FakeExitData: ExitData, @unchecked Sendable {
    var outValues: [UInt64] = []
    var inValues: [Int: UInt64] = [:]
    var mmioValue: UInt64?

    func portIOValue(item: Int) -> UInt64 { item < outValues.count ? outValues[item] : 0 }
    func setPortIOValue(_ value: UInt64, item: Int) { inValues[item] = value }
    func setMMIOValue(_ value: UInt64) { mmioValue = value }
}

@Suite("Exit handling, without KVM")
struct ExitHandlerTests {
    func handler(effect: DeviceEffect = .none, log: RecordingLog = RecordingLog()) throws -> ExitHandler {
        var ports = IOBus()
        try ports.register(RecordingDevice(log: log, effect: effect), at: .init(base: 0x100, length: 8))
        var mmio = IOBus()
        try mmio.register(RecordingDevice(log: log), at: .init(base: 0xd000_0000, length: 0x1000))
        return ExitHandler(portBus: ports, mmioBus: mmio)
    }

    func out(_ port: UInt16, size: Int = 1, count: Int = 1) -> VCPUExit {
        .portIO(.init(direction: .out, port: port, size: size, count: count))
    }

    @Test("an OUT reaches the device at the port's offset, with its size and value")
    func outReachesDevice() throws {
        let log = RecordingLog()
        let data = FakeExitData()
        data.outValues = [0xbeef]
        let action = try handler(log: log).handle(out(0x103, size: 2), vcpu: 0, data: data)
        #expect(action == nil)
        #expect(log.all.count == 1)
        #expect(log.all.first?.offset == 3)
        #expect(log.all.first?.size == 2)
        #expect(log.all.first?.value == 0xbeef)
    }

    @Test("a string OUT (rep outsb) delivers every item in order")
    func stringOut() throws {
        let log = RecordingLog()
        let data = FakeExitData()
        data.outValues = [1, 2, 3]
        _ = try handler(log: log).handle(out(0x100, count: 3), vcpu: 0, data: data)
        #expect(log.all.map(\.value) == [1, 2, 3])
    }

    @Test("an IN from a port with no device reads all ones and is counted, not fatal")
    func unknownPortIn() throws {
        let handler = try handler()
        let data = FakeExitData()
        for size in [1, 2, 4] {
            let action = handler.handle(.portIO(.init(direction: .in, port: 0x510, size: size, count: 1)), vcpu: 0, data: data)
            #expect(action == nil)
            #expect(data.inValues[0] == [1: 0xff, 2: 0xffff, 4: 0xffff_ffff][size])
        }
        _ = handler.handle(out(0x511), vcpu: 0, data: data)
        #expect(handler.counters.unknownPortAccesses == 4)
        #expect(handler.counters.firstUnknownPortNumber == 0x510)
    }

    @Test("an IN from a device returns the device's answer")
    func deviceIn() throws {
        let data = FakeExitData()
        _ = try handler().handle(.portIO(.init(direction: .in, port: 0x101, size: 1, count: 1)), vcpu: 0, data: data)
        #expect(data.inValues[0] == 0x42)
    }

    @Test("a device's debug-exit effect stops the machine with that value")
    func debugExitStops() throws {
        let data = FakeExitData()
        data.outValues = [5]
        let action = try handler(effect: .debugExit(value: 5)).handle(out(0x100), vcpu: 0, data: data)
        #expect(action == StopReason.debugExit(value: 5))
        #expect(StopReason.debugExit(value: 5).exitStatus == 11)
    }

    @Test("a device's reset effect stops the machine cleanly")
    func resetStops() throws {
        let action = try handler(effect: .reset).handle(out(0x100), vcpu: 0, data: FakeExitData())
        #expect(action == StopReason.reset)
        #expect(StopReason.reset.exitStatus == 0)
    }

    @Test("MMIO reads and writes reach the MMIO bus; unbacked reads are all ones")
    func mmio() throws {
        let log = RecordingLog()
        let handler = try handler(log: log)
        let data = FakeExitData()
        _ = handler.handle(.mmio(.init(address: 0xd000_0010, size: 4, isWrite: true, value: 7)), vcpu: 0, data: data)
        #expect(log.all.last?.offset == 0x10)
        _ = handler.handle(.mmio(.init(address: 0xd000_0010, size: 4, isWrite: false, value: 0)), vcpu: 0, data: data)
        #expect(data.mmioValue == 0x42)
        _ = handler.handle(.mmio(.init(address: 0xe000_0000, size: 8, isWrite: false, value: 0)), vcpu: 0, data: data)
        #expect(data.mmioValue == UInt64.max)
        #expect(handler.counters.unknownMMIOAccesses == 1)
    }

    @Test("triple fault, internal error and failed entry stop the machine as guest crashes")
    func crashes() throws {
        let handler = try handler()
        let data = FakeExitData()
        #expect(handler.handle(.shutdown, vcpu: 1, data: data) == StopReason.tripleFault(vcpu: 1, rip: nil))
        let error = VCPUExit.InternalError(suberror: 1, instructionBytes: [0xcc], data: [])
        #expect(handler.handle(.internalError(error), vcpu: 0, data: data) == StopReason.internalError(vcpu: 0, rip: nil, error: error))
        #expect(handler.handle(.failedEntry(hardwareReason: 7), vcpu: 0, data: data) == StopReason.failedEntry(vcpu: 0, rip: nil, hardwareReason: 7))
        for reason in [StopReason.tripleFault(vcpu: 0, rip: nil), .failedEntry(vcpu: 0, rip: nil, hardwareReason: 0)] {
            #expect(reason.exitStatus == ExitStatus.guestCrashed)
        }
    }

    @Test("an interrupted KVM_RUN stops nothing: the vCPU's loop finds a stopping machine itself")
    func interrupted() throws {
        #expect(try handler().handle(.interrupted, vcpu: 0, data: FakeExitData()) == nil)
    }

    @Test("a system event stops the machine as a reset; an exit reason SwiftVMM does not know stops it as a crash")
    func otherExits() throws {
        let handler = try handler()
        #expect(handler.handle(.systemEvent(type: 2), vcpu: 0, data: FakeExitData()) == StopReason.reset)
        let unknown = handler.handle(.other(reason: 77), vcpu: 3, data: FakeExitData())
        #expect(unknown == StopReason.unexpectedExit(vcpu: 3, reason: 77))
        #expect(unknown?.exitStatus == ExitStatus.guestCrashed)
    }

    @Test("isa-debug-exit statuses follow QEMU: (v << 1) | 1, in 8 bits")
    func debugExitStatuses() {
        #expect(StopReason.debugExit(value: 0).exitStatus == 1)
        #expect(StopReason.debugExit(value: 0x7f).exitStatus == 255)
        #expect(StopReason.debugExit(value: 0x80).exitStatus == 1)
        #expect(StopReason.signal(15).exitStatus == 143)
    }
}

@Suite("Console escape: Ctrl-A commands")
struct EscapeFilterTests {
    @Test("Ctrl-A x quits and drops what follows")
    func quit() {
        var filter = EscapeFilter()
        let result = filter.filter([0x61, 0x01, 0x78, 0x62])
        #expect(result.toGuest == [0x61])
        #expect(result.command == .quit)
    }

    @Test("Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A then another key sends both")
    func passThrough() {
        var filter = EscapeFilter()
        #expect(filter.filter([0x01, 0x01]).toGuest == [0x01])
        #expect(filter.filter([0x01, 0x62]).toGuest == [0x01, 0x62])
    }

    @Test("an escape split across two reads still works")
    func split() {
        var filter = EscapeFilter()
        #expect(filter.filter([0x01]).toGuest == [])
        #expect(filter.filter([0x78]).command == .quit)
    }

    @Test("Ctrl-A h asks for help")
    func help() {
        var filter = EscapeFilter()
        #expect(filter.filter([0x01, 0x68]).command == .help)
    }
}

@Suite("Instruction hints for emulation failures")
struct InstructionHintTests {
    @Test("the instructions KVM's emulator is known to refuse are named")
    func names() {
        #expect(InstructionHint.name(of: [0xcc]) == "int3")
        #expect(InstructionHint.name(of: [0xf0, 0x48, 0x0f, 0xc7, 0x0e]) == "cmpxchg8b/cmpxchg16b")
        #expect(InstructionHint.name(of: [0x48, 0x0f, 0xae, 0x2f]) == "xsave/xrstor")
        #expect(InstructionHint.name(of: [0x9b]) == "fwait (x87)")
        #expect(InstructionHint.name(of: [0xdb, 0xe3]) == "an x87 floating-point instruction")
        #expect(InstructionHint.name(of: [0x90]) == nil)
    }
}
