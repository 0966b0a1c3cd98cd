import CUAPI
import Devices
import GuestMemory

/// The register file of the virtio-mmio transport, version 2 (virtio v1.2, 4.2.2): 32-bit
/// registers, then the device configuration space at 0x100, and InterruptStatus with the
/// one interrupt line. `VirtioMMIODevice` keeps it under its register lock.
struct VirtioMMIORegisters: Sendable {
    /// "virt", little-endian (4.2.2, MagicValue).
    static var magicValue: UInt32 { 0x7472_6976 }
    /// The version this transport implements: 2, the virtio 1.x register layout.
    static var version: UInt32 { 2 }
    /// VendorID: "SVMM", little-endian. Drivers match on DeviceID; this only names us.
    static var vendorID: UInt32 { 0x4d4d_5653 }
    /// Every register is 32 bits wide and read and written whole (4.2.2.2).
    static var registerWidth: UInt32 { 4 }

    var state: VirtioDeviceState
    /// InterruptStatus: VIRTIO_MMIO_INT_VRING and VIRTIO_MMIO_INT_CONFIG.
    private(set) var interruptStatus: UInt32 = 0
    private let interrupt: any InterruptLine
    private var deviceFeaturesSelect: UInt32 = 0
    private var driverFeaturesSelect: UInt32 = 0
    private var queueSelect: UInt32 = 0

    init(_ device: any VirtioDevice, memory: GuestMemory, interrupt: any InterruptLine) {
        self.state = VirtioDeviceState(device: device, memory: memory)
        self.interrupt = interrupt
    }

    private var selectedQueue: Int { Int(queueSelect) }

    /// Reads a register (4.2.2) or, from 0x100 on, the configuration space. The driver
    /// reads registers only with aligned 32-bit accesses (4.2.2.2); others read 0.
    func read(offset: UInt64, size: Int) -> UInt64 {
        let configurationStart = UInt64(VIRTIO_MMIO_CONFIG)
        if offset >= configurationStart {
            return state.readConfiguration(offset: offset - configurationStart, size: size)
        }
        guard size == Int(Self.registerWidth), offset % UInt64(Self.registerWidth) == 0 else { return 0 }
        return UInt64(readRegister(Int32(offset)))
    }

    /// Writes a register (4.2.2) or, from 0x100 on, the configuration space; unaligned or
    /// narrow register writes are ignored (4.2.2.2). QueueNotify is not the registers'
    /// business: `VirtioMMIODevice` serves the queue without their lock.
    mutating func write(offset: UInt64, size: Int, value: UInt64) {
        let configurationStart = UInt64(VIRTIO_MMIO_CONFIG)
        if offset >= configurationStart {
            state.writeConfiguration(offset: offset - configurationStart, size: size, value: value)
            return
        }
        guard size == Int(Self.registerWidth), offset % UInt64(Self.registerWidth) == 0 else { return }
        writeRegister(Int32(offset), UInt32(truncatingIfNeeded: value))
    }

    /// The queue a write notifies, if it is an aligned 32-bit write of QueueNotify (4.2.2,
    /// 4.2.3.3: the value is the queue's index).
    static func notifiedQueue(offset: UInt64, size: Int, value: UInt64) -> Int? {
        guard offset == UInt64(VIRTIO_MMIO_QUEUE_NOTIFY), size == Int(registerWidth) else { return nil }
        return Int(UInt32(truncatingIfNeeded: value))
    }

    private func readRegister(_ register: Int32) -> UInt32 {
        let queue = state.queues.indices.contains(selectedQueue) ? state.queues[selectedQueue] : nil
        switch register {
        case VIRTIO_MMIO_MAGIC_VALUE: return Self.magicValue
        case VIRTIO_MMIO_VERSION: return Self.version
        case VIRTIO_MMIO_DEVICE_ID: return state.device.deviceID
        case VIRTIO_MMIO_VENDOR_ID: return Self.vendorID
        case VIRTIO_MMIO_DEVICE_FEATURES: return state.offeredFeatures.word(deviceFeaturesSelect)
        case VIRTIO_MMIO_QUEUE_NUM_MAX: return UInt32(queue?.maximumSize ?? 0)
        case VIRTIO_MMIO_QUEUE_READY: return queue?.isReady == true ? 1 : 0
        case VIRTIO_MMIO_INTERRUPT_STATUS: return interruptStatus
        case VIRTIO_MMIO_STATUS: return UInt32(state.status.rawValue)
        case VIRTIO_MMIO_QUEUE_DESC_LOW: return low(queue?.descriptorTable)
        case VIRTIO_MMIO_QUEUE_DESC_HIGH: return high(queue?.descriptorTable)
        case VIRTIO_MMIO_QUEUE_AVAIL_LOW: return low(queue?.availableRing)
        case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: return high(queue?.availableRing)
        case VIRTIO_MMIO_QUEUE_USED_LOW: return low(queue?.usedRing)
        case VIRTIO_MMIO_QUEUE_USED_HIGH: return high(queue?.usedRing)
        // 4.2.2: no shared memory regions; "a length of -1" says the region is absent.
        case VIRTIO_MMIO_SHM_LEN_LOW, VIRTIO_MMIO_SHM_LEN_HIGH: return .max
        case VIRTIO_MMIO_SHM_BASE_LOW, VIRTIO_MMIO_SHM_BASE_HIGH: return .max
        // The configuration space never changes under the driver.
        case VIRTIO_MMIO_CONFIG_GENERATION: return 0
        default: return 0
        }
    }

    private mutating func writeRegister(_ register: Int32, _ value: UInt32) {
        switch register {
        case VIRTIO_MMIO_DEVICE_FEATURES_SEL: deviceFeaturesSelect = value
        case VIRTIO_MMIO_DRIVER_FEATURES_SEL: driverFeaturesSelect = value
        case VIRTIO_MMIO_DRIVER_FEATURES: state.writeDriverFeatures(word: driverFeaturesSelect, value: value)
        case VIRTIO_MMIO_QUEUE_SEL: queueSelect = value
        case VIRTIO_MMIO_QUEUE_NUM:
            state.configureQueue(selectedQueue) { $0.size = UInt16(exactly: value) ?? 0 }
        case VIRTIO_MMIO_QUEUE_READY:
            if value == 1 {
                deliver(state.enableQueue(selectedQueue))
            } else if value == 0 {
                state.disableQueue(selectedQueue)
            }
        case VIRTIO_MMIO_INTERRUPT_ACK: interruptStatus &= ~value
        case VIRTIO_MMIO_STATUS:
            state.writeStatus(UInt8(truncatingIfNeeded: value))
            if state.status.isEmpty { resetTransport() }
        case VIRTIO_MMIO_QUEUE_DESC_LOW: state.configureQueue(selectedQueue) { $0.descriptorTable = setLow($0.descriptorTable, value) }
        case VIRTIO_MMIO_QUEUE_DESC_HIGH: state.configureQueue(selectedQueue) { $0.descriptorTable = setHigh($0.descriptorTable, value) }
        case VIRTIO_MMIO_QUEUE_AVAIL_LOW: state.configureQueue(selectedQueue) { $0.availableRing = setLow($0.availableRing, value) }
        case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: state.configureQueue(selectedQueue) { $0.availableRing = setHigh($0.availableRing, value) }
        case VIRTIO_MMIO_QUEUE_USED_LOW: state.configureQueue(selectedQueue) { $0.usedRing = setLow($0.usedRing, value) }
        case VIRTIO_MMIO_QUEUE_USED_HIGH: state.configureQueue(selectedQueue) { $0.usedRing = setHigh($0.usedRing, value) }
        default: break
        }
    }

    // MARK: Interrupts

    /// Sets InterruptStatus for each interrupt, tells the observer, and pulses the line
    /// once (4.2.3.4).
    mutating func deliver(_ interrupts: [VirtioInterrupt]) {
        guard !interrupts.isEmpty else { return }
        for interrupt in interrupts {
            switch interrupt {
            case .usedBuffer: interruptStatus |= UInt32(VIRTIO_MMIO_INT_VRING)
            case .configurationChange: interruptStatus |= UInt32(VIRTIO_MMIO_INT_CONFIG)
            }
            state.report(.interruptSent(interrupt, route: .line))
        }
        interrupt.pulse()
    }

    private mutating func resetTransport() {
        interruptStatus = 0
        deviceFeaturesSelect = 0
        driverFeaturesSelect = 0
        queueSelect = 0
    }
}

private func low(_ address: GuestAddress?) -> UInt32 { UInt32(truncatingIfNeeded: address?.rawValue ?? 0) }
private func high(_ address: GuestAddress?) -> UInt32 { UInt32(truncatingIfNeeded: (address?.rawValue ?? 0) >> 32) }
func setLow(_ address: GuestAddress, _ value: UInt32) -> GuestAddress {
    GuestAddress(address.rawValue & 0xffff_ffff_0000_0000 | UInt64(value))
}
func setHigh(_ address: GuestAddress, _ value: UInt32) -> GuestAddress {
    GuestAddress(address.rawValue & 0xffff_ffff | UInt64(value) << 32)
}
