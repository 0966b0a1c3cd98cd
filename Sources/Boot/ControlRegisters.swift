/// Control-register and EFER bits the 64-bit entry needs (Intel SDM vol. 3A, 2.5
/// "Control Registers" and 2.2.1 "Extended Feature Enable Register").
public enum ControlRegisters {
    /// CR0.PE: protected mode.
    public static let cr0ProtectionEnable: UInt64 = 1 << 0
    /// CR0.ET: extension type; hardwired to 1 on every processor since the 486.
    public static let cr0ExtensionType: UInt64 = 1 << 4
    /// CR0.PG: paging.
    public static let cr0Paging: UInt64 = 1 << 31
    /// CR4.PAE: physical address extension, required for long mode.
    public static let cr4PhysicalAddressExtension: UInt64 = 1 << 5
    /// EFER.LME: long mode enable.
    public static let eferLongModeEnable: UInt64 = 1 << 8
    /// EFER.LMA: long mode active (set by the processor once paging is on with LME).
    public static let eferLongModeActive: UInt64 = 1 << 10
    /// RFLAGS bit 1 is reserved and always 1; IF (bit 9) stays clear: interrupts off.
    public static let rflagsReserved: UInt64 = 1 << 1
}
