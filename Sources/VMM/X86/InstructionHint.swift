/// Names the instruction behind a few byte patterns that KVM's emulator is known to
/// refuse, so an emulation failure reads "int3", not just "cc".
/// Opcodes from the Intel SDM vol. 2, appendix A (opcode map).
public enum InstructionHint {
    /// The mnemonic of the instruction `bytes` begin with, for the few KVM's emulator
    /// is known to refuse (`int3`, x87, SSE, `xsave`, `cmpxchg16b`); nil for any other.
    public static func name(of bytes: [UInt8]) -> String? {
        var index = 0
        // Skip legacy prefixes (66, F2, F3, LOCK F0) and one REX prefix (40-4F).
        while index < bytes.count, [0x66, 0xf2, 0xf3, 0xf0].contains(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] & 0xf0 == 0x40 { index += 1 }
        guard index < bytes.count else { return nil }
        let opcode = bytes[index]
        switch opcode {
        case 0xcc: return "int3"
        case 0x9b: return "fwait (x87)"
        case 0xd8...0xdf: return "an x87 floating-point instruction"
        case 0x0f:
            guard index + 1 < bytes.count else { return nil }
            let second = bytes[index + 1]
            let reg = index + 2 < bytes.count ? (bytes[index + 2] >> 3) & 7 : nil
            if second == 0xc7, reg == 1 { return "cmpxchg8b/cmpxchg16b" }
            if second == 0xae, let reg, (4...5).contains(reg) { return "xsave/xrstor" }
            if second == 0x01, index + 2 < bytes.count, bytes[index + 2] == 0xd0 { return "xgetbv" }
            if (0x10...0x17).contains(second) || (0x28...0x2f).contains(second)
                || (0x50...0x7f).contains(second) { return "an SSE instruction" }
            return nil
        default:
            return nil
        }
    }
}
