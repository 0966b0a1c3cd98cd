import CUAPI
import GuestMemory

/// The common configuration structure (virtio v1.2, 4.1.4.3), `struct
/// virtio_pci_common_cfg`: feature negotiation, device status and the selected queue's
/// configuration. Offsets come from the kernel's definition of the struct.
extension VirtioPCIRegisters {
    private typealias Common = virtio_pci_common_cfg
    private static func at(_ field: PartialKeyPath<Common>) -> UInt64 { UInt64(MemoryLayout<Common>.offset(of: field)!) }

    private var selectedQueue: Int { Int(queueSelect) }

    /// The structure's current contents, as a driver reads them.
    private var common: Common {
        var common = Common()
        common.device_feature_select = deviceFeatureSelect
        common.device_feature = state.offeredFeatures.word(deviceFeatureSelect)
        common.guest_feature_select = driverFeatureSelect
        common.guest_feature = state.driverFeatures.word(driverFeatureSelect)
        common.msix_config = configurationVector
        common.num_queues = UInt16(state.queues.count)
        common.device_status = state.status.rawValue
        common.config_generation = 0  // the configuration space never changes
        common.queue_select = queueSelect
        if state.queues.indices.contains(selectedQueue) {
            let queue = state.queues[selectedQueue]
            common.queue_size = queue.size
            common.queue_msix_vector = queueVectors[selectedQueue]
            common.queue_enable = queue.isReady ? 1 : 0
            common.queue_notify_off = UInt16(selectedQueue)
            common.queue_desc_lo = UInt32(truncatingIfNeeded: queue.descriptorTable.rawValue)
            common.queue_desc_hi = UInt32(truncatingIfNeeded: queue.descriptorTable.rawValue >> 32)
            common.queue_avail_lo = UInt32(truncatingIfNeeded: queue.availableRing.rawValue)
            common.queue_avail_hi = UInt32(truncatingIfNeeded: queue.availableRing.rawValue >> 32)
            common.queue_used_lo = UInt32(truncatingIfNeeded: queue.usedRing.rawValue)
            common.queue_used_hi = UInt32(truncatingIfNeeded: queue.usedRing.rawValue >> 32)
        } else {
            // 4.1.4.3.2: a queue that does not exist reads as size 0.
            common.queue_msix_vector = UInt16(VIRTIO_MSI_NO_VECTOR)
        }
        return common
    }

    func readCommon(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(common), offset: offset, size: size)
    }

    mutating func writeCommon(offset: UInt64, size: Int, value: UInt64) {
        let value32 = UInt32(truncatingIfNeeded: value), value16 = UInt16(truncatingIfNeeded: value)
        switch (offset, size) {
        case (Self.at(\Common.device_feature_select), 4): deviceFeatureSelect = value32
        case (Self.at(\Common.guest_feature_select), 4): driverFeatureSelect = value32
        case (Self.at(\Common.guest_feature), 4): state.writeDriverFeatures(word: driverFeatureSelect, value: value32)
        case (Self.at(\Common.msix_config), 2): configurationVector = validVector(value16)
        case (Self.at(\Common.device_status), 1):
            state.writeStatus(UInt8(truncatingIfNeeded: value))
            if state.status.isEmpty { resetTransport() }
        case (Self.at(\Common.queue_select), 2): queueSelect = value16
        case (Self.at(\Common.queue_size), 2): state.configureQueue(selectedQueue) { $0.size = value16 }
        case (Self.at(\Common.queue_msix_vector), 2):
            if queueVectors.indices.contains(selectedQueue) { queueVectors[selectedQueue] = validVector(value16) }
        case (Self.at(\Common.queue_enable), 2):
            // 4.1.4.3.2: the driver MUST NOT write 0 to queue_enable.
            if value16 == 1 { deliver(state.enableQueue(selectedQueue)) }
        case (Self.at(\Common.queue_desc_lo), 4), (Self.at(\Common.queue_desc_hi), 4),
             (Self.at(\Common.queue_avail_lo), 4), (Self.at(\Common.queue_avail_hi), 4),
             (Self.at(\Common.queue_used_lo), 4), (Self.at(\Common.queue_used_hi), 4):
            writeQueueAddress(offset: offset, value: value32)
        case (Self.at(\Common.queue_desc_lo), 8), (Self.at(\Common.queue_avail_lo), 8), (Self.at(\Common.queue_used_lo), 8):
            writeQueueAddress(offset: offset, value: value32)
            writeQueueAddress(offset: offset + 4, value: UInt32(truncatingIfNeeded: value >> 32))
        default:
            break  // read-only fields, and accesses of the wrong width
        }
    }

    /// One 32-bit half of a queue's ring address.
    private mutating func writeQueueAddress(offset: UInt64, value: UInt32) {
        let fields: [(UInt64, WritableKeyPath<Virtqueue, GuestAddress>)] = [
            (Self.at(\Common.queue_desc_lo), \.descriptorTable),
            (Self.at(\Common.queue_avail_lo), \.availableRing),
            (Self.at(\Common.queue_used_lo), \.usedRing),
        ]
        for (low, field) in fields where offset == low || offset == low + 4 {
            state.configureQueue(selectedQueue) { queue in
                queue[keyPath: field] = offset == low ? setLow(queue[keyPath: field], value) : setHigh(queue[keyPath: field], value)
            }
        }
    }

    /// A vector the table has, or NO_VECTOR: the driver reads back what it wrote to learn
    /// whether the device accepted it (4.1.5.1.2.1).
    private func validVector(_ vector: UInt16) -> UInt16 {
        Int(vector) < msix.vectorCount ? vector : UInt16(VIRTIO_MSI_NO_VECTOR)
    }
}
