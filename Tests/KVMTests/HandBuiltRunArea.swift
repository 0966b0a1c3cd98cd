import CKVM
@testable import KVM

/// A `kvm_run` area in ordinary memory, filled in by a test as the kernel would before
/// KVM_RUN returns: exit decoding is checked without KVM.
final class HandBuiltRunArea {
    /// The size KVM_GET_VCPU_MMAP_SIZE gives on x86: the kvm_run page and the pages after
    /// it that string I/O data may use.
    static let size = 3 * 4096
    private let raw: UnsafeMutableRawPointer
    let area: KVMRunArea

    init() {
        raw = UnsafeMutableRawPointer.allocate(byteCount: Self.size, alignment: 4096)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        area = KVMRunArea(pointer: raw.bindMemory(to: kvm_run.self, capacity: 1), size: Self.size)
    }

    deinit { raw.deallocate() }

    /// Changes the `kvm_run` fields as the kernel would.
    func fill(_ body: (inout kvm_run) -> Void) { body(&area.pointer.pointee) }

    /// The byte at `offset` of the area.
    subscript(offset: Int) -> UInt8 {
        get { raw.load(fromByteOffset: offset, as: UInt8.self) }
        set { raw.storeBytes(of: newValue, toByteOffset: offset, as: UInt8.self) }
    }
}

/// Whether /dev/kvm can be used here, and if not, why (printed as the skip reason).
enum KVMAvailability {
    static let problem: String? = {
        do {
            let system = try KVMSystem()
            try system.requireCapabilities()
            return nil
        } catch {
            let reason = "skipped: /dev/kvm cannot be used here: \(error)"
            print(reason)
            return reason
        }
    }()

    static var available: Bool { problem == nil }
}
