import Boot
import CKVM
import Devices
import GuestMemory
import HostIO
import KVM
import Testing
@testable import VMM

@Suite("The reset vector: what a guest finds at F000:FFF0")
struct ResetVectorTests {
    @Test("a vCPU jumping to F000:FFF0 in real mode, as Linux's machine_real_restart does, resets the machine through the i8042",
          .enabled(if: KVMAvailability.available, KVMAvailability.reason))
    func realModeRestart() throws {
        let system = try KVMSystem()
        let vm = try system.createVM()
        try vm.setIdentityMapAddress(Layout.kvmIdentityMap.rawValue)
        try vm.setTSSAddress(Layout.kvmTSS.rawValue)
        let memory = try GuestMemory(size: 2 << 20)
        for (slot, region) in memory.regions.enumerated() {
            try vm.setUserMemoryRegion(
                slot: UInt32(slot), guestAddress: region.start.rawValue, size: region.size,
                hostAddress: memory.hostAddress(of: region))
        }
        // The plan of any boot puts the code there.
        let plan = try BootPlan.plan(
            kernel: try #require(HostIO.contents(of: Repository.testGuestELF)), initrdSize: nil, commandLine: "", ramSize: 2 << 20)
        try plan.apply(to: memory)
        #expect(try memory.readBytes(at: Layout.resetVector, count: ResetVector.code.count) == ResetVector.code)

        // A vCPU out of reset is in real mode; point CS:IP at F000:FFF0 below 1 MiB.
        let vcpu = try vm.createVCPU(id: 0)
        var special = try vcpu.getSpecialRegisters()
        special.cs.selector = 0xf000
        special.cs.base = 0xf_0000
        try vcpu.setSpecialRegisters(special)
        var registers = try vcpu.getRegisters()
        registers.rip = 0xfff0
        try vcpu.setRegisters(registers)

        let exit = try vcpu.run()
        #expect(exit == .portIO(.init(direction: .out, port: UInt16(ResetVector.i8042CommandPort), size: 1, count: 1)))
        #expect(vcpu.portIOValue() == UInt64(I8042.resetCommand))
        // The machine's own port bus takes that write as a reset.
        var bus = IOBus()
        try LegacyPorts.install(on: &bus, serialOutput: CapturedOutput(), serialInterrupt: NoInterrupt(), keyboardInterrupt: NoInterrupt())
        #expect(ExitHandler(portBus: bus, mmioBus: IOBus()).handle(exit, vcpu: 0, data: vcpu) == .reset)
    }
}
