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
/// memory-barrier notes). Indices are therefore read and written as atomics with
/// acquire and release order, as vm-memory's `load` and `store` with an `Ordering` do.
extension GuestMemory {
    /// Reads a 16-bit index the guest publishes, as an atomic load with acquire order:
    /// what the guest wrote before publishing it is seen by every read after this one.
    /// The address must be 2-byte aligned (ring indices are: virtio v1.2, 2.7).
    public func loadAcquiring(_ type: UInt16.Type, at address: GuestAddress) throws(GuestMemoryError) -> UInt16 {
        UInt16(littleEndian: try atomicIndex(at: address).pointee.load(ordering: .acquiring))
    }

    /// Writes a 16-bit index that publishes earlier writes, as an atomic store with
    /// release order: the guest that sees it also sees everything written before it.
    public func storeReleasing(_ value: UInt16, at address: GuestAddress) throws(GuestMemoryError) {
        try atomicIndex(at: address).pointee.store(value.littleEndian, ordering: .releasing)
    }

    /// A full fence, for the one ordering acquire and release cannot give: a store
    /// (the used index, `avail_event`) seen by the guest before a later load (its
    /// `used_event`, flags or available index) is performed. Without it each side could
    /// miss the other's update and neither would notify (virtio v1.2, 2.7.7.2 and
    /// 2.7.10; Linux's virtio_ring uses virtio_mb() there).
    public func fullFence() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// The 16-bit index at `address` as an atomic. The host mapping is page-aligned, so
    /// a guest address's alignment is the host address's.
    private func atomicIndex(at address: GuestAddress) throws(GuestMemoryError) -> UnsafeMutablePointer<Atomic<UInt16>> {
        let alignment = MemoryLayout<Atomic<UInt16>>.alignment
        guard address.rawValue % UInt64(alignment) == 0 else { throw .misaligned(address: address, alignment: alignment) }
        let offset = try hostOffset(address, UInt64(MemoryLayout<UInt16>.size))
        // Guest RAM is raw memory that nothing binds to a type; the atomic view of these
        // two bytes is the only typed access to them.
        return (base + offset).assumingMemoryBound(to: Atomic<UInt16>.self)
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
