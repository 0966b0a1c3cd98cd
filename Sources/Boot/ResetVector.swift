/// The code at the real-mode reset vector (`Layout.resetVector`, F000:FFF0), where a
/// guest that wants the machine restarted may jump as its last resort.
///
/// A hardware-reduced ACPI machine without EFI is such a case for Linux: it then takes
/// EFI to be the way to restart (arch/x86/kernel/reboot.c, `reboot_init`: a
/// hardware-reduced FADT selects BOOT_EFI), finds no EFI, and falls back to jumping to
/// the BIOS's reset vector in real mode (BOOT_BIOS, `machine_real_restart`). On a PC the
/// firmware there would restart the machine; here, five instructions do, through the
/// keyboard controller's reset line, which ends the run as a reset:
///
/// ```
///  b0 fe     mov  al, 0xfe      ; i8042 command: pulse the reset line
///  e6 64     out  0x64, al
///  fa        cli
///  f4        hlt                ; not reached: the machine stops at the OUT
///  eb fd     jmp  short hlt
/// ```
public enum ResetVector {
    /// The i8042's command port and its reset command (`I8042.resetCommand`); the
    /// machine test checks that they agree with the device model.
    public static let i8042CommandPort: UInt8 = 0x64
    public static let i8042ResetCommand: UInt8 = 0xfe

    /// The machine code, in real mode (16-bit).
    public static let code: [UInt8] = [
        0xb0, i8042ResetCommand,   // mov al, imm8
        0xe6, i8042CommandPort,    // out imm8, al
        0xfa,                      // cli
        0xf4,                      // hlt
        0xeb, 0xfd,                // jmp short -3 (back to hlt)
    ]
}
