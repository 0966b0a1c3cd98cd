/// The model-specific registers SwiftVMM sets on every vCPU before it first runs, with
/// the values Linux expects at its 64-bit entry (Intel SDM vol. 4, "Model-Specific
/// Registers"; the same set other minimal VMMs program).
enum ModelSpecificRegisters {
    static let ia32SysenterCS: UInt32 = 0x174
    static let ia32SysenterESP: UInt32 = 0x175
    static let ia32SysenterEIP: UInt32 = 0x176
    static let star: UInt32 = 0xc000_0081
    static let lstar: UInt32 = 0xc000_0082
    static let cstar: UInt32 = 0xc000_0083
    static let syscallMask: UInt32 = 0xc000_0084
    static let kernelGSBase: UInt32 = 0xc000_0102
    static let ia32TSC: UInt32 = 0x10
    static let ia32MiscEnable: UInt32 = 0x1a0
    static let mtrrDefType: UInt32 = 0x2ff

    /// IA32_MISC_ENABLE bit 0: fast string operations enabled (as on real processors).
    static let miscEnableFastString: UInt64 = 1 << 0
    /// IA32_MTRR_DEF_TYPE: bit 11 enables MTRRs; type 6 is write-back, so all of memory
    /// defaults to write-back caching (SDM vol. 3A, 12.11.2.1).
    static let mtrrEnable: UInt64 = 1 << 11
    static let memoryTypeWriteBack: UInt64 = 6

    /// The boot values: system-call MSRs cleared (the kernel sets them), the TSC at 0.
    static let bootValues: [(index: UInt32, value: UInt64)] = [
        (ia32SysenterCS, 0), (ia32SysenterESP, 0), (ia32SysenterEIP, 0),
        (star, 0), (lstar, 0), (cstar, 0), (syscallMask, 0), (kernelGSBase, 0),
        (ia32TSC, 0),
        (ia32MiscEnable, miscEnableFastString),
        (mtrrDefType, mtrrEnable | memoryTypeWriteBack),
    ]
}
