/// What `--trace` shows, one line per event (`Tracer`).
public struct TraceCategories: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    /// A set with the categories of `rawValue`'s bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Every vCPU exit, whatever its reason (KVM_EXIT_*, api.rst 5).
    public static let exits = TraceCategories(rawValue: 1 << 0)
    /// Port I/O exits only (KVM_EXIT_IO).
    public static let io = TraceCategories(rawValue: 1 << 1)
    /// MMIO exits only (KVM_EXIT_MMIO).
    public static let mmio = TraceCategories(rawValue: 1 << 2)
    /// What virtio devices do: notifications, requests, interrupts, status changes.
    public static let virtio = TraceCategories(rawValue: 1 << 3)
    /// All of the above.
    public static let all: TraceCategories = [.exits, .io, .mmio, .virtio]

    /// The names `--trace` takes, in the order the help lists them.
    public static let names: [(name: String, categories: TraceCategories)] = [
        ("exits", .exits), ("io", .io), ("mmio", .mmio), ("virtio", .virtio), ("all", .all),
    ]

    /// Whether any category shows vCPU exits.
    var tracesExits: Bool { !isDisjoint(with: [.exits, .io, .mmio]) }
}
