import KVM
import Testing
import SystemErrors
@testable import VMM
#if canImport(Glibc)
import Glibc
#endif

/// What a user is told when the host cannot run a VM. None of these needs /dev/kvm:
/// they point the machine at a device path that is missing or is not KVM.
@Suite("Host errors: /dev/kvm missing, inaccessible or not KVM")
struct HostErrorTests {
    let console = Console(output: CapturedOutput(), inputFD: nil)

    func build(kernel: MachineConfiguration.Kernel = .demo, kvmPath: String) -> MachineError? {
        do {
            _ = try Machine.build(MachineConfiguration(kernel: kernel, memorySize: 16 << 20), console: console, kvmPath: kvmPath)
            return nil
        } catch {
            return error
        }
    }

    @Test("a missing /dev/kvm says KVM is not available and how to load it; exit status 4")
    func missingDevice() throws {
        let error = try #require(build(kvmPath: "/nonexistent/kvm"))
        guard case .host(.cannotOpen(let path, let errno)) = error else {
            Issue.record("expected cannotOpen, got \(error)")
            return
        }
        #expect(path == "/nonexistent/kvm")
        #expect(errno == Errno(ENOENT))
        #expect(error.description.contains("cannot open /nonexistent/kvm: No such file or directory (ENOENT)"))
        #expect(error.description.contains("modprobe kvm_intel or kvm_amd"))
        #expect(error.exitStatus == ExitStatus.hostError)
    }

    @Test("no permission on /dev/kvm says which group to join")
    func permissionDenied() {
        // Running as root bypasses file permissions, so the message is checked directly.
        for errno in [EACCES, EPERM] {
            let text = KVMError.cannotOpen(path: "/dev/kvm", errno: Errno(errno)).description
            #expect(text.hasPrefix("cannot open /dev/kvm: "))
            #expect(text.contains("usermod -aG kvm"))
        }
    }

    @Test("a device path that is a directory is named with its errno's name")
    func directory() {
        #expect(KVMError.cannotOpen(path: "/tmp", errno: Errno(EISDIR)).description == "cannot open /tmp: Is a directory (EISDIR)")
    }

    @Test("a device that is not KVM fails on its first ioctl, which the error names")
    func notKVM() throws {
        let error = try #require(build(kvmPath: "/dev/null"))
        #expect(error.description == "KVM_GET_API_VERSION failed: Inappropriate ioctl for device (ENOTTY)")
        #expect(error.exitStatus == ExitStatus.hostError)
    }

    @Test("user inputs are checked before the host: a broken kernel is reported even without KVM")
    func inputsFirst() throws {
        let error = try #require(build(kernel: .file("/nonexistent/vmlinuz"), kvmPath: "/nonexistent/kvm"))
        #expect(error.exitStatus == ExitStatus.badInput)
        #expect(error.description == "kernel /nonexistent/vmlinuz: cannot open: No such file or directory (ENOENT)")
    }
}
