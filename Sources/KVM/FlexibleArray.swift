import CKVM

/// A kernel struct that ends in a flexible array member, as `struct kvm_cpuid2 { __u32
/// nent; __u32 padding; struct kvm_cpuid_entry2 entries[]; }` does: a header that counts
/// the entries, then the entries. (kvm-bindings calls these FAM structs.)
protocol FlexibleArrayHeader {
    associatedtype Entry
    /// Where the entries begin, as the C compiler lays the struct out (`offsetof`).
    static var entriesOffset: Int { get }
    /// The header's count of entries (`nent`, `nmsrs`, `nr`).
    var entryCount: UInt32 { get set }
}

/// One such struct in one zeroed allocation, with room for `capacity` entries, freed when
/// it goes away: every flexible-array ioctl argument (CPUID, MSRs, interrupt routes) is
/// built here, and its pointer never leaves `withArgument`.
struct FlexibleArray<Header: FlexibleArrayHeader>: ~Copyable {
    private let raw: UnsafeMutableRawPointer
    /// The entries the allocation has room for.
    let capacity: Int

    /// A header saying `capacity` entries, and room for them, all zero.
    init(capacity: Int) {
        let size = Header.entriesOffset + capacity * MemoryLayout<Header.Entry>.stride
        raw = UnsafeMutableRawPointer.allocate(
            byteCount: size, alignment: max(MemoryLayout<Header>.alignment, MemoryLayout<Header.Entry>.alignment))
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        self.capacity = capacity
        header.entryCount = UInt32(capacity)
    }

    /// A header saying `entries.count` entries, and the entries.
    init(_ entries: [Header.Entry]) {
        self.init(capacity: entries.count)
        for (index, entry) in entries.enumerated() {
            raw.storeBytes(of: entry, toByteOffset: Self.offset(of: index), as: Header.Entry.self)
        }
    }

    deinit { raw.deallocate() }

    private static func offset(of index: Int) -> Int {
        Header.entriesOffset + index * MemoryLayout<Header.Entry>.stride
    }

    private var header: Header {
        get { raw.load(as: Header.self) }
        nonmutating set { raw.storeBytes(of: newValue, as: Header.self) }
    }

    /// The entries the header counts now (after an ioctl that fills it, the kernel's
    /// count), never more than there is room for.
    var entries: [Header.Entry] {
        let count = min(Int(header.entryCount), capacity)
        return (0..<count).map { raw.load(fromByteOffset: Self.offset(of: $0), as: Header.Entry.self) }
    }

    /// Lends the struct to `body`, an ioctl that reads or fills it.
    @discardableResult
    func withArgument<Result>(_ body: (UnsafeMutableRawPointer) throws(KVMError) -> Result) throws(KVMError) -> Result {
        try body(raw)
    }
}

extension kvm_cpuid2: FlexibleArrayHeader {
    typealias Entry = kvm_cpuid_entry2
    static var entriesOffset: Int { Int(CKVM_CPUID2_ENTRIES_OFFSET) }
    var entryCount: UInt32 {
        get { nent }
        set { nent = newValue }
    }
}

extension kvm_msrs: FlexibleArrayHeader {
    typealias Entry = kvm_msr_entry
    static var entriesOffset: Int { Int(CKVM_MSRS_ENTRIES_OFFSET) }
    var entryCount: UInt32 {
        get { nmsrs }
        set { nmsrs = newValue }
    }
}

extension kvm_irq_routing: FlexibleArrayHeader {
    typealias Entry = kvm_irq_routing_entry
    static var entriesOffset: Int { Int(CKVM_IRQ_ROUTING_ENTRIES_OFFSET) }
    var entryCount: UInt32 {
        get { nr }
        set { nr = newValue }
    }
}
