import CUAPI
import Devices
import Dispatch
import GuestMemory
import Locking
import SystemErrors
import Testing
@testable import Virtio

/// A disk whose flushes wait until the test opens the gate: a host fdatasync that takes
/// as long as the test likes.
final class GatedDisk: BlockBackend {
    let disk: MemoryDisk
    private let entered = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)

    init(sectors: Int) { disk = MemoryDisk(sectors: sectors) }

    var size: UInt64 { disk.size }
    var serial: String { disk.serial }
    func read(at offset: UInt64, into memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        try disk.read(at: offset, into: memory, at: address, count: count)
    }
    func write(at offset: UInt64, from memory: GuestMemory, at address: GuestAddress, count: Int) throws(SystemCallError) {
        try disk.write(at: offset, from: memory, at: address, count: count)
    }
    func flush() throws(SystemCallError) {
        entered.signal()
        gate.wait()
    }

    /// Returns once a flush has started (and waits at the gate).
    func waitForFlush() { entered.wait() }
    /// Lets the waiting flush finish.
    func open() { gate.signal() }
}

/// The transports as a second thread reaches them: a notification served there.
struct Notifier: @unchecked Sendable {
    // @unchecked: the driver's transport is only used from the notifying thread until
    // `wait` returns; the test reads registers through the device, which locks itself.
    let transport: any FakeTransport
    let group = DispatchGroup()

    func notifyElsewhere() {
        let transport = self.transport
        nonisolated(unsafe) let unsafeTransport = transport
        DispatchQueue(label: "test.notifier").async(group: group) { unsafeTransport.notify(0) }
    }

    func wait() { group.wait() }
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it: a register
/// access that waited on a flush would block until the gate opens, and the test must
/// fail, not hang. Returns whether it finished in time.
func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchGroup()
    DispatchQueue(label: "test.access").async(group: done, execute: body)
    return done.wait(timeout: .now() + seconds) == .success
}

@Suite("Host I/O holds no register lock")
struct RegisterLockTests {
    /// A FLUSH request in the queue, made available but not yet notified; its status byte's address.
    func queueFlush(_ driver: FakeDriver) -> GuestAddress {
        let status = driver.place([0xff])
        driver.submit([(driver.header(type: VIRTIO_BLK_T_FLUSH, sector: 0), 16, false), (status, 1, true)], notify: false)
        return status
    }

    @Test("while a queue waits on the host's flush, the device's registers and configuration answer",
          arguments: TransportKind.allCases)
    func registersAnswerDuringFlush(kind: TransportKind) throws {
        let memory = fakeGuestMemory()
        let disk = GatedDisk(sectors: 8)
        let driver = FakeDriver(kind.makeTransport(VirtioBlock(name: "vda", backend: disk, readOnly: false), memory: memory), memory: memory)
        let status = queueFlush(driver)
        let notifier = Notifier(transport: driver.transport)
        notifier.notifyElsewhere()
        disk.waitForFlush()
        // The flush is under way on the other thread: the registers are not held by it.
        nonisolated(unsafe) let transport = driver.transport
        let answered = finishes(within: 2) {
            #expect(DeviceStatus(rawValue: transport.status).contains(.driverOK))
            #expect(transport.readConfiguration(offset: 0, size: 8) == 8)
            #expect(transport.deviceFeatures & VirtioFeatures.blockFlush.rawValue != 0)
        }
        #expect(answered, "the registers waited for the flush")
        #expect(try memory.read(UInt8.self, at: status) == 0xff)  // not answered yet
        disk.open()
        notifier.wait()
        #expect(try memory.read(UInt8.self, at: status) == statusOK)
        #expect(driver.usedIndex == 1)
        #expect(driver.transport.takeUsedBufferInterrupt())
    }

    @Test("through the PCI memory window, one function's requests complete while another's flush waits on the host")
    func windowServesOtherFunctions() throws {
        let memory = fakeGuestMemory()
        let blocked = GatedDisk(sectors: 8)
        let first = PCITransport(VirtioBlock(name: "vda", backend: blocked, readOnly: false), memory: memory)
        // The second function's rings are in guest memory of their own, apart from the first's.
        let secondMemory = fakeGuestMemory()
        let second = PCITransport(VirtioBlock(name: "vdb", backend: MemoryDisk(sectors: 8), readOnly: false), memory: secondMemory,
                                  barAddress: PCITransport.barAddress + VirtioPCILayout.barSize)
        let bus = PCIBus(functions: [1: first.function, 2: second.function])
        let window = PCIMMIOWindow(bus: bus, base: UInt64(PCITransport.barAddress))
        for (index, transport) in [first, second].enumerated() {
            transport.notifier = { queue in
                _ = window.write(offset: UInt64(index) * UInt64(VirtioPCILayout.barSize) + VirtioPCILayout.notifyAddress(queue: queue),
                                 size: 2, value: UInt64(queue))
            }
        }
        let firstDriver = FakeDriver(first, memory: memory)
        _ = queueFlush(firstDriver)
        let notifier = Notifier(transport: first)
        notifier.notifyElsewhere()
        blocked.waitForFlush()
        // A read of the second disk goes through the window and completes at once.
        nonisolated(unsafe) let unsafeSecond = second
        let answered = finishes(within: 2) {
            let secondDriver = FakeDriver(unsafeSecond, memory: secondMemory)
            let read = secondDriver.request(type: VIRTIO_BLK_T_IN, sector: 2, inLength: 512)
            #expect(read.status == statusOK && read.data == [UInt8](repeating: 3, count: 512))
        }
        #expect(answered, "the second function waited for the first one's flush")
        blocked.open()
        notifier.wait()
        #expect(firstDriver.usedIndex == 1)
    }

    @Test("a reset while a request is served waits for it, and the request's interrupt is not sent after the reset",
          arguments: TransportKind.allCases)
    func resetWaitsForTheRequest(kind: TransportKind) throws {
        let memory = fakeGuestMemory()
        let disk = GatedDisk(sectors: 8)
        let driver = FakeDriver(kind.makeTransport(VirtioBlock(name: "vda", backend: disk, readOnly: false), memory: memory), memory: memory)
        let status = queueFlush(driver)
        let notifier = Notifier(transport: driver.transport)
        notifier.notifyElsewhere()
        disk.waitForFlush()
        let reset = DispatchGroup()
        nonisolated(unsafe) let transport = driver.transport
        DispatchQueue(label: "test.reset").async(group: reset) { transport.writeStatus(0) }
        // The reset cannot finish while the request is on the disk.
        #expect(reset.wait(timeout: .now() + .milliseconds(200)) == .timedOut)
        disk.open()
        notifier.wait()
        reset.wait()
        #expect(transport.status == 0)
        #expect(try memory.read(UInt8.self, at: status) == statusOK)  // it was done, whole
        #expect(!transport.takeUsedBufferInterrupt())  // but the reset device owes no interrupt
    }
}
