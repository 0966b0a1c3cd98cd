import CKVM
import Testing
@testable import KVM

/// api.rst 5, "The kvm_run structure": each exit reason decoded from the fields the
/// kernel fills, and the data of port I/O and MMIO read and answered in place.
@Suite("KVM exits decoded from a hand-built kvm_run")
struct ExitDecodingTests {
    @Test("KVM_EXIT_IO: direction, port, size and count; an OUT's data read at data_offset")
    func portOut() {
        let run = HandBuiltRunArea()
        run.fill { state in
            state.exit_reason = UInt32(KVM_EXIT_IO)
            state.io.direction = UInt8(KVM_EXIT_IO_OUT)
            state.io.port = 0x3f8
            state.io.size = 2
            state.io.count = 3
            state.io.data_offset = 4096
        }
        for (index, byte) in [0x34, 0x12, 0x78, 0x56, 0xbc, 0x9a].enumerated() { run[4096 + index] = UInt8(byte) }
        #expect(run.area.decodeExit() == .portIO(.init(direction: .out, port: 0x3f8, size: 2, count: 3)))
        #expect((0..<3).map { run.area.portIOValue(item: $0) } == [0x1234, 0x5678, 0x9abc])
    }

    @Test("KVM_EXIT_IO: an IN's answer lands at data_offset, item by item, little-endian")
    func portIn() {
        let run = HandBuiltRunArea()
        run.fill { state in
            state.exit_reason = UInt32(KVM_EXIT_IO)
            state.io.direction = UInt8(KVM_EXIT_IO_IN)
            state.io.port = 0xcfc
            state.io.size = 4
            state.io.count = 2
            state.io.data_offset = 0x1010
        }
        #expect(run.area.decodeExit() == .portIO(.init(direction: .in, port: 0xcfc, size: 4, count: 2)))
        run.area.setPortIOValue(0x1122_3344, item: 0)
        run.area.setPortIOValue(0xaabb_ccdd_eeff, item: 1)  // only the low 4 bytes fit
        #expect((0..<8).map { run[0x1010 + $0] } == [0x44, 0x33, 0x22, 0x11, 0xff, 0xee, 0xdd, 0xcc])
        #expect(run[0x1018] == 0)
    }

    @Test("port data outside the area, or past the exit's items, is neither read nor written")
    func portDataBounds() {
        let run = HandBuiltRunArea()
        run.fill { state in
            state.exit_reason = UInt32(KVM_EXIT_IO)
            state.io.direction = UInt8(KVM_EXIT_IO_IN)
            state.io.size = 4
            state.io.count = 2
            state.io.data_offset = UInt64(HandBuiltRunArea.size - 6)  // the second item would cross the end
        }
        run.area.setPortIOValue(0xffff_ffff, item: 1)
        run.area.setPortIOValue(0xffff_ffff, item: 2)  // past `count`
        #expect(run.area.portIOValue(item: 1) == 0)
        #expect((HandBuiltRunArea.size - 2..<HandBuiltRunArea.size).allSatisfy { run[$0] == 0 })
        run.area.setPortIOValue(0x0102_0304, item: 0)
        #expect(run.area.portIOValue(item: 0) == 0x0102_0304)
    }

    @Test("KVM_EXIT_MMIO: address, size, direction and a write's value; a read's answer in mmio.data")
    func mmio() {
        let run = HandBuiltRunArea()
        run.fill { state in
            state.exit_reason = UInt32(KVM_EXIT_MMIO)
            state.mmio.phys_addr = 0xc000_3000
            state.mmio.len = 2
            state.mmio.is_write = 1
            state.mmio.data = (0xcd, 0xab, 0xff, 0xff, 0, 0, 0, 0)  // bytes past len are not the value's
        }
        #expect(run.area.decodeExit() == .mmio(.init(address: 0xc000_3000, size: 2, isWrite: true, value: 0xabcd)))
        run.fill { state in
            state.mmio.is_write = 0
            state.mmio.len = 4
        }
        run.area.setMMIOValue(0x1_2345_6789)
        #expect(run.area.mmioValue() == 0x2345_6789)
        #expect(run.area.decodeExit() == .mmio(.init(address: 0xc000_3000, size: 4, isWrite: false, value: 0x2345_6789)))
    }

    @Test("KVM_EXIT_HLT, SHUTDOWN, INTR, FAIL_ENTRY and SYSTEM_EVENT, and a reason SwiftVMM does not know")
    func simpleReasons() {
        let run = HandBuiltRunArea()
        let cases: [(Int32, VCPUExit)] = [
            (KVM_EXIT_HLT, .halt), (KVM_EXIT_SHUTDOWN, .shutdown), (KVM_EXIT_INTR, .interrupted),
            (KVM_EXIT_FAIL_ENTRY, .failedEntry(hardwareReason: 0x80000021)),
            (KVM_EXIT_SYSTEM_EVENT, .systemEvent(type: UInt32(KVM_SYSTEM_EVENT_RESET))),
            (KVM_EXIT_DEBUG, .other(reason: UInt32(KVM_EXIT_DEBUG))),
        ]
        for (reason, expected) in cases {
            run.fill { state in
                state.exit_reason = UInt32(reason)
                state.fail_entry.hardware_entry_failure_reason = 0x80000021
                if reason == KVM_EXIT_SYSTEM_EVENT { state.system_event.type = UInt32(KVM_SYSTEM_EVENT_RESET) }
            }
            #expect(run.area.decodeExit() == expected, "exit reason \(reason)")
        }
    }

    @Test("KVM_EXIT_INTERNAL_ERROR, emulation: the instruction bytes KVM reported, at most 15")
    func emulationFailure() {
        let run = HandBuiltRunArea()
        run.fill { state in
            state.exit_reason = UInt32(KVM_EXIT_INTERNAL_ERROR)
            state.emulation_failure.suberror = UInt32(KVM_INTERNAL_ERROR_EMULATION)
            state.emulation_failure.ndata = 4
            state.emulation_failure.flags = UInt64(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)
            state.emulation_failure.insn_size = 2
            state.emulation_failure.insn_bytes.0 = 0x0f
            state.emulation_failure.insn_bytes.1 = 0x0b
        }
        guard case .internalError(let error) = run.area.decodeExit() else {
            Issue.record("not an internal error")
            return
        }
        #expect(error.isEmulationFailure)
        #expect(error.instructionBytes == [0x0f, 0x0b])
        #expect(error.data.count == 4)
        run.fill { $0.emulation_failure.insn_size = 200 }
        guard case .internalError(let long) = run.area.decodeExit() else { return }
        #expect(long.instructionBytes.count == 15)
    }

    @Test("KVM_EXIT_INTERNAL_ERROR of another suberror: its data words, no instruction bytes")
    func otherInternalError() {
        let run = HandBuiltRunArea()
        run.fill { state in
            state.exit_reason = UInt32(KVM_EXIT_INTERNAL_ERROR)
            state.internal.suberror = UInt32(KVM_INTERNAL_ERROR_DELIVERY_EV)
            state.internal.ndata = 40  // more than the 16 words there are
            state.internal.data.0 = 0xdead
            state.internal.data.15 = 0xbeef
        }
        #expect(run.area.decodeExit() == .internalError(.init(
            suberror: UInt32(KVM_INTERNAL_ERROR_DELIVERY_EV), instructionBytes: [],
            data: [0xdead] + [UInt64](repeating: 0, count: 14) + [0xbeef])))
    }

    @Test("immediate_exit is set and cleared in the area")
    func immediateExit() {
        let run = HandBuiltRunArea()
        run.area.setImmediateExit(true)
        #expect(run.area.immediateExit)
        run.area.setImmediateExit(false)
        #expect(!run.area.immediateExit)
    }
}
