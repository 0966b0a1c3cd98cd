import CUAPI
import GuestMemory
@testable import Virtio

/// What a fake driver needs of a transport: the registers of virtio v1.2 3.1, whatever
/// their layout.
protocol FakeTransport: AnyObject {
    var status: UInt8 { get }
    func writeStatus(_ value: UInt8)
    var deviceFeatures: UInt64 { get }
    func writeDriverFeatures(_ value: UInt64)
    /// What the device holds as the driver's features (its state, not a register).
    var negotiatedFeatures: VirtioFeatures { get }
    func configureQueue(_ index: Int, size: UInt16, descriptors: UInt64, available: UInt64, used: UInt64)
    func enableQueue(_ index: Int)
    func notify(_ index: Int)
    func readConfiguration(offset: UInt64, size: Int) -> UInt64
    /// Whether a used-buffer interrupt arrived since the last call (and acknowledges it).
    func takeUsedBufferInterrupt() -> Bool
    /// Whether a configuration-change interrupt arrived since the last call.
    func takeConfigurationInterrupt() -> Bool
}

/// A virtio driver in fake guest memory: it builds descriptor tables and rings where a
/// guest would, and drives a device through a transport as Linux's driver does.
final class FakeDriver {
    static var queueSize: UInt16 { 16 }
    static var descriptorTable: GuestAddress { GuestAddress(0x1_0000) }
    static var availableRing: GuestAddress { GuestAddress(0x1_1000) }
    static var usedRing: GuestAddress { GuestAddress(0x1_2000) }
    /// Where request headers, data and status bytes go.
    static var dataArea: GuestAddress { GuestAddress(0x2_0000) }

    var transport: any FakeTransport
    let memory: GuestMemory
    var availableIndex: UInt16 = 0
    var nextDescriptor: UInt16 = 0
    var dataCursor = FakeDriver.dataArea.rawValue

    /// Resets the device and takes it through initialization (3.1.1) with `features`.
    init(_ transport: any FakeTransport, memory: GuestMemory, features: VirtioFeatures = [.version1, .blockFlush]) {
        self.transport = transport
        self.memory = memory
        self.transport.writeStatus(0)
        let statusSteps: [DeviceStatus] = [.acknowledge, .driver]
        var status: DeviceStatus = []
        for step in statusSteps { status.insert(step); self.transport.writeStatus(status.rawValue) }
        self.transport.writeDriverFeatures(features.rawValue)
        status.insert(.featuresOK)
        self.transport.writeStatus(status.rawValue)
        self.transport.configureQueue(
            0, size: Self.queueSize, descriptors: Self.descriptorTable.rawValue,
            available: Self.availableRing.rawValue, used: Self.usedRing.rawValue)
        self.transport.enableQueue(0)
        status.insert(.driverOK)
        self.transport.writeStatus(status.rawValue)
    }

    var status: DeviceStatus { get { DeviceStatus(rawValue: transport.status) } }

    // MARK: Guest memory

    /// Puts `bytes` in the data area and returns their address.
    func place(_ bytes: [UInt8]) -> GuestAddress {
        let address = GuestAddress(dataCursor)
        try! memory.write(bytes: bytes, at: address)
        dataCursor += (UInt64(bytes.count) + 15) & ~15
        return address
    }

    func header(type: Int32, sector: UInt64) -> GuestAddress {
        var header = virtio_blk_outhdr()
        header.type = UInt32(bitPattern: type)
        header.sector = sector
        return place(withUnsafeBytes(of: header) { Array($0) })
    }

    /// Writes descriptor `index` of the table at `table`.
    func writeDescriptor(
        _ index: UInt16, address: UInt64, length: UInt32, flags: UInt16, next: UInt16 = 0,
        table: GuestAddress = FakeDriver.descriptorTable
    ) {
        let descriptor = vring_desc(addr: address, len: length, flags: flags, next: next)
        try! memory.writeValue(descriptor, at: GuestAddress(table.rawValue + 16 * UInt64(index)))
    }

    /// Makes the chain at `head` available and notifies the device.
    func makeAvailable(_ head: UInt16, notify: Bool = true) {
        let slot = UInt64(availableIndex % Self.queueSize)
        try! memory.write(head, at: GuestAddress(Self.availableRing.rawValue + 4 + 2 * slot))
        availableIndex &+= 1
        try! memory.write(availableIndex, at: GuestAddress(Self.availableRing.rawValue + 2))
        if notify { transport.notify(0) }
    }

    /// Chains `buffers` in the descriptor table (or, with `indirect`, in a table of its
    /// own that one descriptor points at), makes the chain available and notifies.
    @discardableResult
    func submit(_ buffers: [(address: GuestAddress, length: UInt32, writable: Bool)], indirect: Bool = false, notify: Bool = true) -> UInt16 {
        let head = nextDescriptor
        if indirect {
            let table = place([UInt8](repeating: 0, count: 16 * buffers.count))
            for (index, buffer) in buffers.enumerated() {
                let last = index == buffers.count - 1
                writeDescriptor(
                    UInt16(index), address: buffer.address.rawValue, length: buffer.length,
                    flags: (buffer.writable ? DescriptorChain.write : 0) | (last ? 0 : DescriptorChain.next),
                    next: UInt16(index + 1), table: table)
            }
            writeDescriptor(head, address: table.rawValue, length: UInt32(16 * buffers.count), flags: DescriptorChain.indirect)
            nextDescriptor = (nextDescriptor + 1) % Self.queueSize
        } else {
            for (index, buffer) in buffers.enumerated() {
                let descriptor = (head + UInt16(index)) % Self.queueSize
                let last = index == buffers.count - 1
                writeDescriptor(
                    descriptor, address: buffer.address.rawValue, length: buffer.length,
                    flags: (buffer.writable ? DescriptorChain.write : 0) | (last ? 0 : DescriptorChain.next),
                    next: (descriptor + 1) % Self.queueSize)
            }
            nextDescriptor = (nextDescriptor + UInt16(buffers.count)) % Self.queueSize
        }
        makeAvailable(head, notify: notify)
        return head
    }

    // MARK: Block requests

    struct Completion: Equatable {
        let status: UInt8
        let usedLength: UInt32
        let data: [UInt8]
    }

    /// A block request: header, then `outData` (device-readable), then `inLength` bytes
    /// the device fills, then the status byte.
    func request(
        type: Int32, sector: UInt64 = 0, outData: [UInt8] = [], inLength: Int = 0, indirect: Bool = false
    ) -> Completion {
        var buffers: [(address: GuestAddress, length: UInt32, writable: Bool)] = [
            (header(type: type, sector: sector), 16, false)
        ]
        if !outData.isEmpty { buffers.append((place(outData), UInt32(outData.count), false)) }
        var inAddress: GuestAddress? = nil
        if inLength > 0 {
            inAddress = place([UInt8](repeating: 0xee, count: inLength))
            buffers.append((inAddress!, UInt32(inLength), true))
        }
        let statusAddress = place([0xff])
        buffers.append((statusAddress, 1, true))
        let before = usedIndex
        submit(buffers, indirect: indirect)
        precondition(usedIndex == before &+ 1, "the device did not complete the request")
        let data = inAddress.map { try! memory.readBytes(at: $0, count: inLength) } ?? []
        return Completion(status: try! memory.read(UInt8.self, at: statusAddress), usedLength: lastUsed.length, data: data)
    }

    // MARK: The used ring

    var usedIndex: UInt16 { try! memory.read(UInt16.self, at: GuestAddress(Self.usedRing.rawValue + 2)) }

    var lastUsed: (id: UInt32, length: UInt32) {
        let slot = UInt64((usedIndex &- 1) % Self.queueSize)
        let element = try! memory.readValue(vring_used_elem.self, at: GuestAddress(Self.usedRing.rawValue + 4 + 8 * slot))
        return (element.id, element.len)
    }

    /// `used_event` (EVENT_IDX): interrupt me once the used index passes this.
    func setUsedEvent(_ value: UInt16) {
        try! memory.write(value, at: GuestAddress(Self.availableRing.rawValue + 4 + 2 * UInt64(Self.queueSize)))
    }

    /// `avail_event` (EVENT_IDX), as the device last wrote it.
    var availableEvent: UInt16 {
        try! memory.read(UInt16.self, at: GuestAddress(Self.usedRing.rawValue + 4 + 8 * UInt64(Self.queueSize)))
    }
}

/// The virtio-mmio transport as a fake driver reaches it.
final class MMIOTransport: FakeTransport {
    let device: VirtioMMIODevice
    var negotiatedFeatures: VirtioFeatures { device.driverFeatures }
    let line = CountingLine()
    private var seenRises = 0

    init(_ device: any VirtioDevice, memory: GuestMemory) {
        self.device = VirtioMMIODevice(device, memory: memory, interrupt: line)
    }

    func read(_ register: Int32) -> UInt32 { UInt32(device.read(offset: UInt64(register), size: 4)) }
    func write(_ register: Int32, _ value: UInt32) { _ = device.write(offset: UInt64(register), size: 4, value: UInt64(value)) }

    var status: UInt8 { get { UInt8(read(VIRTIO_MMIO_STATUS)) } }
    func writeStatus(_ value: UInt8) { write(VIRTIO_MMIO_STATUS, UInt32(value)) }
    var deviceFeatures: UInt64 {
        get {
            write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1)
            let high = UInt64(read(VIRTIO_MMIO_DEVICE_FEATURES))
            write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)
            return high << 32 | UInt64(read(VIRTIO_MMIO_DEVICE_FEATURES))
        }
    }
    func writeDriverFeatures(_ value: UInt64) {
        write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)
        write(VIRTIO_MMIO_DRIVER_FEATURES, UInt32(truncatingIfNeeded: value))
        write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)
        write(VIRTIO_MMIO_DRIVER_FEATURES, UInt32(truncatingIfNeeded: value >> 32))
    }
    func configureQueue(_ index: Int, size: UInt16, descriptors: UInt64, available: UInt64, used: UInt64) {
        write(VIRTIO_MMIO_QUEUE_SEL, UInt32(index))
        write(VIRTIO_MMIO_QUEUE_NUM, UInt32(size))
        for (low, high, address) in [
            (VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH, descriptors),
            (VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, available),
            (VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH, used),
        ] {
            write(low, UInt32(truncatingIfNeeded: address))
            write(high, UInt32(truncatingIfNeeded: address >> 32))
        }
    }
    func enableQueue(_ index: Int) {
        write(VIRTIO_MMIO_QUEUE_SEL, UInt32(index))
        write(VIRTIO_MMIO_QUEUE_READY, 1)
    }
    func notify(_ index: Int) { write(VIRTIO_MMIO_QUEUE_NOTIFY, UInt32(index)) }
    func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        device.read(offset: UInt64(VIRTIO_MMIO_CONFIG) + offset, size: size)
    }
    func takeInterrupt(_ bit: Int32) -> Bool {
        let pending = read(VIRTIO_MMIO_INTERRUPT_STATUS) & UInt32(bit) != 0
        if pending { write(VIRTIO_MMIO_INTERRUPT_ACK, UInt32(bit)) }
        return pending
    }
    func takeUsedBufferInterrupt() -> Bool { takeInterrupt(VIRTIO_MMIO_INT_VRING) }
    func takeConfigurationInterrupt() -> Bool { takeInterrupt(VIRTIO_MMIO_INT_CONFIG) }
}

/// Fake guest RAM: 1 MiB.
func fakeGuestMemory() -> GuestMemory { try! GuestMemory(regions: [(GuestAddress(0), 0x10_0000)]) }
