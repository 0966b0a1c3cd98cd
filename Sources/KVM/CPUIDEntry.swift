import CKVM

/// One CPUID leaf as KVM describes it (`struct kvm_cpuid_entry2`), as a plain value.
public struct CPUIDEntry: Sendable, Equatable {
    public var function: UInt32
    public var index: UInt32
    public var flags: UInt32
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32

    /// The leaf `function` (subleaf `index` where `flags` has KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
    /// with the registers CPUID returns for it (api.rst, KVM_SET_CPUID2).
    public init(function: UInt32, index: UInt32 = 0, flags: UInt32 = 0,
                eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) {
        self.function = function
        self.index = index
        self.flags = flags
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }

    init(_ entry: kvm_cpuid_entry2) {
        self.init(function: entry.function, index: entry.index, flags: entry.flags,
                  eax: entry.eax, ebx: entry.ebx, ecx: entry.ecx, edx: entry.edx)
    }

    var kernelValue: kvm_cpuid_entry2 {
        var entry = kvm_cpuid_entry2()
        entry.function = function
        entry.index = index
        entry.flags = flags
        entry.eax = eax
        entry.ebx = ebx
        entry.ecx = ecx
        entry.edx = edx
        return entry
    }

    /// Allocates a `kvm_cpuid2` with room for `capacity` entries, lets `body` fill it
    /// through an ioctl, and returns the entries the kernel reported.
    static func withBuffer(
        capacity: UInt32, _ body: (UnsafeMutableRawPointer) throws(KVMError) -> Int32
    ) throws(KVMError) -> [CPUIDEntry] {
        let size = Int(ckvm_cpuid2_size(capacity))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let cpuid = raw.assumingMemoryBound(to: kvm_cpuid2.self)
        cpuid.pointee.nent = capacity
        _ = try body(raw)
        return (0..<cpuid.pointee.nent).map { CPUIDEntry(ckvm_cpuid2_entry(cpuid, $0).pointee) }
    }

    /// Builds a `kvm_cpuid2` holding `entries` and lends it to `body`.
    static func withKernelValue(
        _ entries: [CPUIDEntry], _ body: (UnsafeMutableRawPointer) throws(KVMError) -> Int32
    ) throws(KVMError) {
        let count = UInt32(entries.count)
        let size = Int(ckvm_cpuid2_size(count))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let cpuid = raw.assumingMemoryBound(to: kvm_cpuid2.self)
        cpuid.pointee.nent = count
        for (i, entry) in entries.enumerated() {
            ckvm_cpuid2_entry(cpuid, UInt32(i)).pointee = entry.kernelValue
        }
        _ = try body(raw)
    }
}
