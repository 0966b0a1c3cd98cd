/// A device as a bus reaches it, from any thread at any time (every vCPU, an I/O thread):
/// an object that keeps its own state consistent under concurrent accesses, or has no
/// state to keep. (Cloud Hypervisor's `BusDeviceSync`.)
///
/// Most devices are plain values (`BusDevice`) that a `DeviceSlot` serializes with a
/// mutex. A device whose accesses must not all wait on one lock conforms itself: the PCI
/// memory window, which holds no state of its own, and the virtio transports, whose
/// registers have a small lock of their own while their queues are served without it.
public protocol SharedBusDevice: AnyObject, Sendable {
    /// A short name for messages and statistics ("com1", "virtio-blk-mmio0").
    var name: String { get }
    /// The name of what answers an access at `offset` (see `BusDevice.deviceName(at:)`).
    func deviceName(at offset: UInt64) -> String
    /// Reads `size` bytes at `offset` from the device's base. Unused high bytes are zero.
    func read(offset: UInt64, size: Int) -> UInt64
    /// Writes the low `size` bytes of `value` at `offset` from the device's base.
    func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect
}

extension SharedBusDevice {
    /// The device answers every access itself.
    public func deviceName(at offset: UInt64) -> String { name }
}
