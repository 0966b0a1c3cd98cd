import GuestMemory

/// The part of a virtio device both transports share: the device status state machine,
/// feature negotiation, the virtqueues, and the request loop (virtio v1.2, 2.1-2.4, 3.1).
///
/// Transports translate register accesses into calls on this value and deliver the
/// `VirtioInterrupt`s it returns; `Device` executes requests.
public struct VirtioDeviceState<Device: VirtioDevice>: Sendable {
    public private(set) var device: Device
    public let memory: GuestMemory
    public private(set) var status: DeviceStatus = []
    /// The features the driver accepted (valid once FEATURES_OK stuck).
    public private(set) var driverFeatures: VirtioFeatures = []
    public private(set) var queues: [Virtqueue]
    /// Why the device set DEVICE_NEEDS_RESET, for diagnosis.
    public private(set) var failure: VirtqueueError? = nil

    /// Transport and ring features every SwiftVMM device offers besides its own.
    public static var commonFeatures: VirtioFeatures { [.version1, .indirectDescriptors, .eventIndex] }

    /// `device` as the driver first finds it: status 0, nothing negotiated, its queues
    /// disabled (2.1, 2.4).
    public init(device: Device, memory: GuestMemory) {
        self.device = device
        self.memory = memory
        self.queues = device.queueSizes.map { Virtqueue(maximumSize: $0) }
    }

    /// The features offered to the driver.
    public var offeredFeatures: VirtioFeatures { device.features.union(Self.commonFeatures) }

    /// True once the driver set DRIVER_OK and the device has not failed since.
    public var isLive: Bool { status.contains(.driverOK) && !status.contains(.needsReset) }

    // MARK: Status (2.1, 3.1.1)

    /// The driver writes the status field. Returns the interrupts to deliver.
    ///
    /// - 0 resets the device (2.4).
    /// - The driver may only add bits (2.1.1: it "MUST NOT clear a device status bit");
    ///   a write that clears one is ignored.
    /// - FEATURES_OK sticks only if the accepted features are a subset of those offered
    ///   and include VIRTIO_F_VERSION_1; the driver re-reads the status to find out (3.1.1).
    /// - DRIVER_OK sticks only after FEATURES_OK.
    /// - DEVICE_NEEDS_RESET is the device's to set: the driver's copy of the bit is ignored.
    public mutating func writeStatus(_ value: UInt8) {
        if value == 0 {
            reset()
            return
        }
        var new = DeviceStatus(rawValue: value).subtracting(.needsReset)
        let old = status.subtracting(.needsReset)
        guard new.isSuperset(of: old) else { return }
        if new.contains(.featuresOK) && !old.contains(.featuresOK) {
            if featuresAcceptable {
                device.featuresNegotiated(driverFeatures)
            } else {
                new.remove(.featuresOK)
            }
        }
        if new.contains(.driverOK) && !new.contains(.featuresOK) {
            new.remove(.driverOK)
        }
        setStatus(new.union(status.intersection(.needsReset)))
    }

    /// Every change of the status field goes through here, so observers see each one.
    private mutating func setStatus(_ new: DeviceStatus) {
        guard new != status else { return }
        let old = status
        status = new
        report(.statusChanged(from: old, to: new))
    }

    /// Tells the device's observer, if it has one, about `event`.
    func report(_ event: VirtioEvent) {
        device.observer?.observe(event, device: device.name)
    }

    private var featuresAcceptable: Bool {
        status.contains([.acknowledge, .driver]) && driverFeatures.contains(.version1)
            && offeredFeatures.isSuperset(of: driverFeatures)
    }

    /// The driver writes 32 bits of its accepted features. Ignored once FEATURES_OK is set
    /// (3.1.1: "The driver MUST NOT accept new feature bits after this step").
    public mutating func writeDriverFeatures(word: UInt32, value: UInt32) {
        guard !status.contains(.featuresOK) else { return }
        driverFeatures = driverFeatures.replacingWord(word, with: value)
    }

    /// Back to the state after power-on: status 0, no features, queues disabled (2.4).
    public mutating func reset() {
        setStatus([])
        driverFeatures = []
        failure = nil
        for index in queues.indices { queues[index].reset() }
        device.reset()
    }

    // MARK: Device configuration

    /// Reads the device-specific configuration space (2.5), which the device defines.
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        device.readConfiguration(offset: offset, size: size)
    }

    /// Writes the device-specific configuration space (2.5); the device decides what sticks.
    public mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {
        device.writeConfiguration(offset: offset, size: size, value: value)
    }

    // MARK: Queues

    /// Applies `change` to queue `index`'s configuration, unless the queue is enabled
    /// (its size and addresses are fixed while it runs) or does not exist.
    public mutating func configureQueue(_ index: Int, _ change: (inout Virtqueue) -> Void) {
        guard queues.indices.contains(index), !queues[index].isReady else { return }
        change(&queues[index])
    }

    /// The driver enables queue `index`. A configuration the device cannot use (a size
    /// that is not a power of two, rings outside RAM) sets DEVICE_NEEDS_RESET.
    public mutating func enableQueue(_ index: Int) -> [VirtioInterrupt] {
        guard queues.indices.contains(index), !queues[index].isReady else { return [] }
        do {
            try queues[index].activate(features: driverFeatures, memory: memory)
            queues[index].isReady = true
            return []
        } catch {
            return fail(error)
        }
    }

    /// The driver disables queue `index` (writes 0 to QueueReady or queue_enable's
    /// equivalent before freeing it); its configuration is kept.
    public mutating func disableQueue(_ index: Int) {
        guard queues.indices.contains(index) else { return }
        queues[index].isReady = false
    }

    /// The driver notified queue `index` (an available buffer notification, 2.7.13.3):
    /// serves every chain it made available, and returns the interrupts owed.
    public mutating func queueNotified(_ index: Int) -> [VirtioInterrupt] {
        report(.queueNotified(queue: index))
        guard isLive, queues.indices.contains(index), queues[index].isReady else { return [] }
        var completed = false
        do {
            var again = false
            repeat {
                while device.takesChain(fromQueue: index), let chain = try queues[index].popAvailable(memory: memory) {
                    let written = device.handle(chain, queue: index, memory: memory)
                    try queues[index].pushUsed(head: chain.head, length: written, memory: memory)
                    completed = true
                }
                // A device that takes no more chains now is called again when it will.
                again = device.takesChain(fromQueue: index) ? try queues[index].armAvailableNotification(memory: memory) : false
            } while again
            if completed, try queues[index].needsNotification(memory: memory) {
                return [.usedBuffer(queue: index)]
            }
            return []
        } catch {
            // Requests completed before the error are the driver's: tell it about them.
            return (completed ? [.usedBuffer(queue: index)] : []) + fail(error)
        }
    }

    /// Sets DEVICE_NEEDS_RESET (2.1.2: "The device SHOULD set DEVICE_NEEDS_RESET when it
    /// enters an error state that a reset is needed. If DRIVER_OK is set, after it sets
    /// DEVICE_NEEDS_RESET, the device MUST send a device configuration change
    /// notification to the driver"). No queue is served until the driver resets.
    mutating func fail(_ error: VirtqueueError) -> [VirtioInterrupt] {
        guard !status.contains(.needsReset) else { return [] }
        failure = error
        setStatus(status.union(.needsReset))
        return status.contains(.driverOK) ? [.configurationChange] : []
    }
}
