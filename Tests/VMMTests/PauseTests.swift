import Dispatch
import Locking
import Testing
import VMM
#if canImport(Glibc)
import Glibc
#endif

/// Waits until `output` holds `text` `count` times or more; false after `seconds`.
private func waitFor(_ text: String, count: Int = 1, in output: CapturedOutput, seconds: Double = 60) -> Bool {
    let deadline = DispatchTime.now() + seconds
    while DispatchTime.now() < deadline {
        if output.text.components(separatedBy: text).count - 1 >= count { return true }
        usleep(10_000)
    }
    return false
}

@Suite("Pause and resume (Firecracker's PATCH /vm), and Ctrl-Alt-Delete on the keyboard, on KVM",
       .enabled(if: KVMAvailability.available, KVMAvailability.reason))
struct PauseTests {
    @Test("pausing parks every vCPU and the guest stops; resuming it goes on, five times over; Ctrl-Alt-Delete then restarts it")
    func pauseResumeAndCtrlAltDelete() throws {
        let output = CapturedOutput()
        // The test guest polls the keyboard controller and prints a tick line every
        // 32768 polls (keyboard.c); its second vCPU waits, halted, once started.
        let configuration = MachineConfiguration(
            kernel: .file(Repository.testGuestELF), commandLine: "console=ttyS0 testguest.quiet testguest.keyboard",
            memorySize: 64 << 20, vcpuCount: 2)
        let machine = try Machine.build(configuration, console: Console(output: output, inputFD: nil))
        let failures = Locked<[String]>([])
        DispatchQueue(label: "test.control").async {
            func fail(_ message: String) {
                failures.withLock { $0.append(message) }
                machine.stop(.userQuit)
            }
            guard waitFor("keyboard: tick 1", in: output) else { return fail("the guest never ticked") }
            for round in 1...5 {
                do {
                    try machine.pause()
                } catch {
                    return fail("pause \(round): \(error)")
                }
                guard machine.isPaused else { return fail("pause \(round): not paused") }
                let before = output.text
                usleep(300_000)
                guard output.text == before else { return fail("pause \(round): the guest ran while paused") }
                let ticks = before.components(separatedBy: "tick").count - 1
                machine.resume()
                guard !machine.isPaused, waitFor("tick", count: ticks + 1, in: output, seconds: 30) else {
                    return fail("resume \(round): the guest did not go on")
                }
            }
            machine.sendCtrlAltDel()
        }
        let report = machine.run()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }); console: \(output.text.suffix(400))")
        #expect(report.reason == .reset)
        // Scan code set 1, as the controller translates: Ctrl, Alt, then Delete (extended),
        // a byte at a time; the guest restarts at Delete's make code, before the breaks.
        let codes = output.text.split(whereSeparator: \.isNewline).compactMap { line in
            line.hasPrefix("keyboard: scan code ") ? String(line.dropFirst("keyboard: scan code ".count)) : nil
        }
        #expect(codes == ["0x1d", "0x38", "0xe0", "0x53"])
        let text = output.text
        #expect(text.contains("keyboard: Ctrl-Alt-Del"))
    }

    @Test("a stopped machine cannot be paused")
    func notRunning() throws {
        let configuration = MachineConfiguration(kernel: .file(Repository.testGuestELF), memorySize: 64 << 20)
        let machine = try Machine.build(configuration, console: Console(output: CapturedOutput(), inputFD: nil))
        machine.stop(.userQuit)
        #expect(throws: Machine.ControlError.notRunning) { try machine.pause() }
        #expect(machine.run().reason == .userQuit)
    }
}
