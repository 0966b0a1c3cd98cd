import Devices
import KVM
import Locking
import Testing
@testable import VMM

/// Records what a machine's faults would stop it for.
final class RecordingStops: Sendable {
    private let reasons = Locked<[StopReason]>([])
    func stop(_ reason: StopReason) { reasons.withLock { $0.append(reason) } }
    var all: [StopReason] { reasons.withLock { $0 } }
}

/// A failed host call of a device never passes in silence: it stops the machine when the
/// guest would otherwise wait for ever, or is said once.
@Suite("Host faults of a running machine")
struct HostFaultsTests {
    @Test("a warning is written once per device and call, and listed")
    func warnOnce() {
        let output = CapturedOutput()
        let faults = HostFaults(output: output)
        faults.warnOnce("vda KVM_SIGNAL_MSI", "vda: first")
        faults.warnOnce("vda KVM_SIGNAL_MSI", "vda: second")
        faults.warnOnce("vdb KVM_SIGNAL_MSI", "vdb: first")
        #expect(faults.warnings == ["vda: first", "vdb: first"])
        #expect(output.text == "swiftvmm: warning: vda: first\nswiftvmm: warning: vdb: first\n")
    }

    @Test("a fault that stops the machine before it runs stops it as soon as it can")
    func stopBeforeRunning() {
        let faults = HostFaults(output: nil)
        let stops = RecordingStops()
        faults.stopMachine(.userQuit)
        faults.stopMachine(.reset)
        faults.whenStopping(stops.stop)
        #expect(stops.all == [.userQuit])
        faults.stopMachine(.timedOut)
        #expect(stops.all == [.userQuit, .timedOut])
    }

    @Test("an interrupt line KVM refuses stops the machine, naming the device and the ioctl",
          .enabled(if: KVMAvailability.available, KVMAvailability.reason))
    func refusedLineStops() throws {
        let vm = try KVMSystem().createVM()  // no in-kernel irqchip: KVM_IRQ_LINE has nothing to drive
        let faults = HostFaults(output: nil)
        let stops = RecordingStops()
        faults.whenStopping(stops.stop)
        KVMInterruptLine(vm: vm, irq: 4, device: "com1", faults: faults).setLevel(true)
        guard case .hostFailure(let device, .ioctlFailed(let name, _))? = stops.all.first else {
            Issue.record("expected a host failure, got \(stops.all)")
            return
        }
        #expect(device == "com1" && name == "KVM_IRQ_LINE")
        #expect(stops.all.first?.exitStatus == ExitStatus.hostError)
    }

    @Test("an MSI-X message KVM refuses is lost with a warning, said once for the device",
          .enabled(if: KVMAvailability.available, KVMAvailability.reason))
    func refusedMessageWarns() throws {
        let vm = try KVMSystem().createVM()
        let output = CapturedOutput()
        let faults = HostFaults(output: output)
        let messages = SignalledMSI(vm: vm, device: "virtio-blk-pci0", faults: faults)
        messages.deliver(MSIMessage(address: 0xfee0_0000, data: 0x41))
        messages.deliver(MSIMessage(address: 0xfee0_0000, data: 0x42))
        #expect(faults.warnings.count == 1)
        #expect(faults.warnings.first?.hasPrefix("virtio-blk-pci0: KVM_SIGNAL_MSI failed: ") == true)
        #expect(output.text.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 1)
    }
}
