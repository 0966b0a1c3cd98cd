import GuestMemory

/// The part of a virtio device both transports share: the device status state machine,
/// feature negotiation, the queues' configuration and their servers (virtio v1.2,
/// 2.1-2.4, 3.1).
///
/// Transports keep it under their register lock, translate register accesses into calls
/// on it and deliver the `VirtioInterrupt`s it returns. The queues it enables are served
/// by their `VirtqueueServer`s, outside that lock; it starts and stops them.
public struct VirtioDeviceState: Sendable {
    public private(set) var device: any VirtioDevice
    public let memory: GuestMemory
    public private(set) var status: DeviceStatus = []
    /// The features the driver accepted (valid once FEATURES_OK stuck).
    public private(set) var driverFeatures: VirtioFeatures = []
    /// Each queue as the driver configures it; once enabled, its server has the live copy.
    public private(set) var queues: [Virtqueue]
    /// One per queue, for the life of the device.
    public let servers: [VirtqueueServer]
    /// Why the device set DEVICE_NEEDS_RESET, for diagnosis.
    public private(set) var failure: VirtqueueError? = nil

    /// Transport and ring features every SwiftVMM device offers besides its own.
    public static var commonFeatures: VirtioFeatures { [.version1, .indirectDescriptors, .eventIndex] }

    /// `device` as the driver first finds it: status 0, nothing negotiated, its queues
    /// disabled (2.1, 2.4).
    public init(device: any VirtioDevice, memory: GuestMemory) {
        self.device = device
        self.memory = memory
        self.queues = device.queueSizes.map { Virtqueue(maximumSize: $0) }
        self.servers = device.queueSizes.indices.map { VirtqueueServer(index: $0, memory: memory) }
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
        if new.contains(.featuresOK) && !old.contains(.featuresOK) && !featuresAcceptable {
            new.remove(.featuresOK)
        }
        if new.contains(.driverOK) && !new.contains(.featuresOK) {
            new.remove(.driverOK)
        }
        setStatus(new.union(status.intersection(.needsReset)))
    }

    /// Every change of the status field goes through here, so observers see each one and
    /// the queues' servers know whether they may serve.
    private mutating func setStatus(_ new: DeviceStatus) {
        guard new != status else { return }
        let old = status
        let wasLive = isLive
        status = new
        if isLive != wasLive { for server in servers { server.setLive(isLive) } }
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
    /// A queue being served is given up once its round ends: "After writing 0 to
    /// device_status, the driver MUST wait for a read of device_status to return 0 before
    /// reinitializing the device" (4.1.4.3.2), and no request is touched after it does.
    public mutating func reset() {
        setStatus([])
        driverFeatures = []
        failure = nil
        for index in queues.indices {
            queues[index].reset()
            servers[index].stop()
        }
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

    /// The driver enables queue `index`: its server takes over the queue, with a handler
    /// from the device. A configuration the device cannot use (a size that is not a
    /// power of two, rings outside RAM) sets DEVICE_NEEDS_RESET instead.
    public mutating func enableQueue(_ index: Int) -> [VirtioInterrupt] {
        guard queues.indices.contains(index), !queues[index].isReady else { return [] }
        var queue = queues[index]
        do {
            try queue.activate(features: driverFeatures, memory: memory)
        } catch {
            return fail(error)
        }
        queue.isReady = true
        queues[index].isReady = true
        servers[index].start(queue, handler: device.queueHandler(for: index, features: driverFeatures))
        return []
    }

    /// The driver disables queue `index` (writes 0 to QueueReady before freeing it); its
    /// configuration is kept, its server stops once its round ends.
    public mutating func disableQueue(_ index: Int) {
        guard queues.indices.contains(index) else { return }
        queues[index].isReady = false
        servers[index].stop()
    }

    /// Queue `index`'s server finished a round: returns the interrupts owed. An outcome of
    /// an activation since ended (the driver reset the device meanwhile) is dropped.
    public mutating func queueServed(_ index: Int, _ outcome: VirtqueueServer.Outcome) -> [VirtioInterrupt] {
        guard servers.indices.contains(index), outcome.generation == servers[index].generation else { return [] }
        let used: [VirtioInterrupt] = outcome.interrupt ? [.usedBuffer(queue: index)] : []
        guard let failure = outcome.failure else { return used }
        return used + fail(failure)
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
