import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Access to memory the guest writes concurrently: virtio rings, whose indices and
/// flags publish data between the driver (a vCPU) and the device (a VMM thread).
///
/// The driver writes a descriptor, then publishes it by advancing an index; the device
/// must see the descriptor once it sees the index, and the driver must see a used entry
/// once it sees the used index (virtio v1.2, 2.7.13 "Virtqueue Operation" and its
/// memory-barrier notes). These calls pair each index access with the fence that
/// gives it acquire or release order.
extension GuestMemory {
    /// Reads an index the guest publishes with: loads after this one cannot be moved
    /// before it (acquire).
    public func readAcquiring<T: FixedWidthInteger>(_ type: T.Type, at address: GuestAddress) throws(GuestMemoryError) -> T {
        let value = try read(type, at: address)
        atomicMemoryFence(ordering: .acquiring)
        return value
    }

    /// Writes an index that publishes earlier writes: they are visible before it (release).
    public func writeReleasing<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws(GuestMemoryError) {
        atomicMemoryFence(ordering: .releasing)
        try write(value, at: address)
    }

    /// A full fence: the used index written before it is visible before the driver's
    /// notification-suppression fields are read after it (virtio v1.2, 2.7.7.2).
    public func fullFence() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Copies a plain value (a C struct such as `vring_desc`) out of guest memory in one
    /// read, so its fields come from one snapshot.
    public func readValue<T: BitwiseCopyable>(_ type: T.Type, at address: GuestAddress) throws(GuestMemoryError) -> T {
        let offset = try hostOffset(address, UInt64(MemoryLayout<T>.size))
        return base.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    /// Copies a plain value into guest memory.
    public func writeValue<T: BitwiseCopyable>(_ value: T, at address: GuestAddress) throws(GuestMemoryError) {
        let offset = try hostOffset(address, UInt64(MemoryLayout<T>.size))
        base.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }

    // MARK: Files

    /// pread(2) from `fd` at `fileOffset` straight into guest memory: returns the bytes
    /// read (0 at end of file), or -1 with errno set. Throws if the range is not RAM.
    public func pread(
        fromFileDescriptor fd: Int32, fileOffset: UInt64, into address: GuestAddress, count: Int
    ) throws(GuestMemoryError) -> Int {
        let offset = try hostOffset(address, UInt64(count))
        return Glibc.pread(fd, base + offset, count, off_t(fileOffset))
    }

    /// pwrite(2) of guest memory to `fd` at `fileOffset`: returns the bytes written, or -1
    /// with errno set. Throws if the range is not RAM.
    public func pwrite(
        toFileDescriptor fd: Int32, fileOffset: UInt64, from address: GuestAddress, count: Int
    ) throws(GuestMemoryError) -> Int {
        let offset = try hostOffset(address, UInt64(count))
        return Glibc.pwrite(fd, base + offset, count, off_t(fileOffset))
    }
}
