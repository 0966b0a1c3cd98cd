import CKVM
import SystemErrors
import Testing
@testable import KVM

/// The one builder of flexible-array ioctl arguments (kvm_cpuid2, kvm_msrs,
/// kvm_irq_routing), and the ioctls that use it, on the host's KVM.
@Suite("Flexible-array ioctl arguments")
struct FlexibleArrayTests {
    @Test("entries go after the header, where the C compiler puts the flexible array, and the header counts them")
    func layout() throws {
        let entries = (0..<5).map { kvm_msr_entry(index: UInt32(0x100 + $0), reserved: 0, data: UInt64($0) << 32) }
        let list = FlexibleArray<kvm_msrs>(entries)
        try list.withArgument { (argument) throws(KVMError) in
            let header = argument.load(as: kvm_msrs.self)
            #expect(header.nmsrs == 5)
            let third = argument.load(
                fromByteOffset: Int(CKVM_MSRS_ENTRIES_OFFSET) + 2 * MemoryLayout<kvm_msr_entry>.stride, as: kvm_msr_entry.self)
            #expect(third.index == 0x102 && third.data == 2 << 32)
        }
        #expect(list.entries.map(\.index) == entries.map(\.index))
    }

    @Test("a count the kernel wrote back is believed only up to the room there is")
    func kernelCount() throws {
        let cpuid = FlexibleArray<kvm_cpuid2>(capacity: 3)
        #expect(cpuid.entries.count == 3)
        try cpuid.withArgument { (argument) throws(KVMError) in argument.storeBytes(of: UInt32(1), as: UInt32.self) }
        #expect(cpuid.entries.count == 1)
        try cpuid.withArgument { (argument) throws(KVMError) in argument.storeBytes(of: UInt32(1000), as: UInt32.self) }
        #expect(cpuid.entries.count == 3)
    }

    @Test("KVM_GET_SUPPORTED_CPUID from a one-entry array grows it after E2BIG and gets every leaf",
          .enabled(if: KVMAvailability.available))
    func cpuidRetry() throws {
        let system = try KVMSystem()
        let full = try system.supportedCPUID()
        #expect(full.count > 1)
        #expect(try system.supportedCPUID(startingCapacity: 1) == full)
    }

    @Test("KVM_SET_MSRS that sets fewer than asked names the first MSR the kernel refused",
          .enabled(if: KVMAvailability.available))
    func partialMSRs() throws {
        let vm = try KVMSystem().createVM()
        let vcpu = try vm.createVCPU(id: 0)
        let sysenterCS: UInt32 = 0x174, unimplemented: UInt32 = 0x4b56_0bad  // no CPU has it
        try vcpu.setMSRs([(sysenterCS, 0)])
        #expect(throws: KVMError.msrRefused(index: unimplemented)) {
            try vcpu.setMSRs([(sysenterCS, 0), (unimplemented, 1), (sysenterCS, 0)])
        }
    }

    @Test("KVM_SET_GSI_ROUTING takes the irqchip's default routes and a message route",
          .enabled(if: KVMAvailability.available))
    func routing() throws {
        let vm = try KVMSystem().createVM()
        try vm.createIRQChip()
        let routes = GSIRoute.irqChipDefaults() + [.msi(gsi: GSIRoute.ioAPICPins, address: 0xfee0_0000, data: 0x41)]
        try vm.setGSIRouting(routes)
        #expect(throws: KVMError.self) { try vm.setGSIRouting([.irqChip(gsi: 0, chip: .ioAPIC, pin: 99)]) }
    }
}
