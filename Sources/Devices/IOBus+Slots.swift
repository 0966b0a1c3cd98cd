extension IOBus {
    /// The slot of the device of type `type` that answers at `address`, if that is the
    /// device there: how the machine reaches a device that `LegacyPorts.install` placed
    /// (the i8042, to type keys on it) without holding every slot it made.
    public func slot<Device: BusDevice>(at address: UInt64, as type: Device.Type) -> DeviceSlot<Device>? {
        entry(at: address)?.slot as? DeviceSlot<Device>
    }
}
