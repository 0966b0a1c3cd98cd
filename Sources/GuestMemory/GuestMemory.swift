import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// One contiguous run of guest RAM: guest addresses [start, start + size), backed by the
/// host mapping at byte offset `hostOffset`.
public struct GuestMemoryRegion: Sendable, Equatable {
    public let start: GuestAddress
    public let size: UInt64
    public let hostOffset: UInt64

    /// The first address past the region.
    public var end: GuestAddress { GuestAddress(start.rawValue + size) }

    func contains(_ address: GuestAddress, length: UInt64) -> Bool {
        guard let offset = address.offset(from: start), offset <= size else { return false }
        return length <= size - offset
    }
}

/// The guest's RAM: one anonymous host mapping, split into regions as the guest sees them.
///
/// Everything above this layer reads and writes guest memory through bounds- and
/// overflow-checked calls that throw; no pointer into the mapping leaves this type,
/// except the base address KVM needs to register a memory slot (`hostAddress(of:)`).
///
/// Guest memory is shared with running vCPUs: a value read here may change the moment
/// after. Callers copy out, validate the copy, and never read the same guest bytes twice
/// for one decision.
public final class GuestMemory: @unchecked Sendable {
    // @unchecked: the mapping is shared by design with vCPUs and device threads; every
    // access is a bounds-checked copy, and the base pointer never changes after init.

    public let regions: [GuestMemoryRegion]
    /// Total bytes of RAM across all regions.
    public let size: UInt64
    let base: UnsafeMutableRawPointer

    /// The size of a transparent huge page on x86-64, to which the mapping is aligned.
    static let hugePageSize: UInt64 = 2 << 20

    /// Maps `size` bytes of guest RAM, laid out as `Layout.ramRegions(ramSize:)` says.
    ///
    /// The mapping is `MAP_NORESERVE`: pages cost host memory only once touched, so
    /// start-up time does not grow with RAM size. It starts on a 2 MiB boundary and asks
    /// for transparent huge pages (`MADV_HUGEPAGE`, which hosts with THP in "madvise"
    /// mode, Debian's default, need): KVM maps 2 MiB of guest RAM at a time where the
    /// host backs it with a huge page, so a guest's TLB misses and nested page walks
    /// cost less. QEMU and Cloud Hypervisor ask for the same. A Linux guest reached user
    /// space in the nested test bed about a third sooner with it (docs/PERFORMANCE.md).

    public convenience init(size: UInt64) throws(GuestMemoryError) {
        try self.init(regions: Layout.ramRegions(ramSize: size))
    }

    /// Maps guest RAM for the given regions, which must be page-aligned, non-empty,
    /// sorted and non-overlapping.
    public init(regions layout: [(start: GuestAddress, size: UInt64)]) throws(GuestMemoryError) {
        guard !layout.isEmpty else { throw .invalidLayout("no RAM regions") }
        var regions: [GuestMemoryRegion] = []
        var total: UInt64 = 0
        var previousEnd = GuestAddress(0)
        for (start, size) in layout {
            guard size > 0, size % Layout.pageSize == 0, start.rawValue % Layout.pageSize == 0
            else { throw .invalidLayout("region \(start) of \(size) bytes is not page-aligned") }
            guard start >= previousEnd, let end = start.adding(size) else {
                throw .invalidLayout("region \(start) overlaps or overflows")
            }
            regions.append(GuestMemoryRegion(start: start, size: size, hostOffset: total))
            total += size
            previousEnd = end
        }
        // 2 MiB more than needed, so that the RAM can start on a 2 MiB boundary.
        let slack = Int(Self.hugePageSize)
        guard let reserved = mmap(
            nil, Int(total) + slack, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            reserved != MAP_FAILED
        else { throw .mappingFailed(size: total, errno: .current) }
        let head = (slack - Int(UInt(bitPattern: reserved) % UInt(slack))) % slack
        let mapping = reserved + head
        if head > 0 { munmap(reserved, head) }
        munmap(mapping + Int(total), slack - head)
        // Transparent huge pages where the host allows them: KVM then maps guest RAM
        // with 2 MiB pages, and the guest's TLB misses cost one nested walk fewer.
        _ = madvise(mapping, Int(total), MADV_HUGEPAGE)
        self.base = mapping
        self.regions = regions
        self.size = total
    }

    deinit { munmap(base, Int(size)) }

    /// The host virtual address where `region` begins, for KVM_SET_USER_MEMORY_REGION.
    public func hostAddress(of region: GuestMemoryRegion) -> UInt64 {
        UInt64(UInt(bitPattern: base)) + region.hostOffset
    }

    /// The region holding all of [address, address + length), or nil.
    public func region(containing address: GuestAddress, length: UInt64 = 1) -> GuestMemoryRegion? {
        regions.first { $0.contains(address, length: length) }
    }

    /// True when [address, address + length) lies entirely inside one RAM region.
    public func contains(_ address: GuestAddress, length: UInt64) -> Bool {
        region(containing: address, length: length) != nil
    }

    /// The host byte offset of a checked guest range.
    func hostOffset(_ address: GuestAddress, _ length: UInt64) throws(GuestMemoryError) -> Int {
        guard address.adding(length) != nil else { throw .overflow(address: address, length: length) }
        guard let region = region(containing: address, length: length) else {
            throw .outOfBounds(address: address, length: length)
        }
        return Int(region.hostOffset + (address.rawValue - region.start.rawValue))
    }

    // MARK: Integers

    /// Reads a little-endian integer at `address`.
    public func read<T: FixedWidthInteger>(_ type: T.Type, at address: GuestAddress) throws(GuestMemoryError) -> T {
        let offset = try hostOffset(address, UInt64(MemoryLayout<T>.size))
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Writes `value` little-endian at `address`.
    public func write<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws(GuestMemoryError) {
        let offset = try hostOffset(address, UInt64(MemoryLayout<T>.size))
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    // MARK: Bytes

    /// Copies `count` bytes out of guest memory.
    public func readBytes(at address: GuestAddress, count: Int) throws(GuestMemoryError) -> [UInt8] {
        let offset = try hostOffset(address, UInt64(count))
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            buffer.baseAddress!.initialize(
                from: (base + offset).assumingMemoryBound(to: UInt8.self), count: count)
            initialized = count
        }
    }

    /// Copies `bytes` into guest memory at `address`.
    public func write(bytes: some Collection<UInt8>, at address: GuestAddress) throws(GuestMemoryError) {
        let offset = try hostOffset(address, UInt64(bytes.count))
        let destination = UnsafeMutableRawBufferPointer(start: base + offset, count: bytes.count)
        destination.copyBytes(from: bytes)
    }

    /// Fills [address, address + count) with zero bytes.
    public func zero(at address: GuestAddress, count: Int) throws(GuestMemoryError) {
        let offset = try hostOffset(address, UInt64(count))
        memset(base + offset, 0, count)
    }

    /// Reads up to `count` bytes from the file descriptor straight into guest memory at
    /// `address`, avoiding a copy of large files such as an initrd. Returns the bytes read;
    /// 0 means end of file. Throws if the destination range is not guest RAM.
    public func read(
        fromFileDescriptor fd: Int32, into address: GuestAddress, count: Int
    ) throws(GuestMemoryError) -> Int {
        let offset = try hostOffset(address, UInt64(count))
        return Glibc.read(fd, base + offset, count)
    }
}
