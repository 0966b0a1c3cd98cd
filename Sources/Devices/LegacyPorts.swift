/// Every port-I/O device of the PC this machine emulates in user space, in one place.
///
/// ```
///  port          device                          model
///  0x0020-0x0021 PIC 1 (8259A)                   in KVM (KVM_CREATE_IRQCHIP)
///  0x0040-0x0043 PIT (8254)                      in KVM (KVM_CREATE_PIT2)
///  0x0060        keyboard controller, data,      I8042, with a PS2Keyboard
///                keyboard IRQ 1
///  0x0061        port B (PIT gate 2, speaker)    in KVM (KVM_CREATE_PIT2)
///  0x0064        keyboard controller, status     I8042
///  0x0070-0x0071 RTC and CMOS RAM                CMOS
///  0x0080        POST diagnostic / delay port    absent
///  0x00a0-0x00a1 PIC 2 (8259A)                   in KVM (KVM_CREATE_IRQCHIP)
///  0x00ed        alternative delay port          absent
///  0x00f4        isa-debug-exit                  DebugExit (optional)
///  0x0278-0x027f parallel port LPT2              absent
///  0x02e8-0x02ef serial port COM4                absent
///  0x02f8-0x02ff serial port COM2                absent
///  0x0378-0x037f parallel port LPT1              absent
///  0x03bc-0x03bf parallel port (on MDA cards)    absent
///  0x03c0-0x03df VGA                             absent
///  0x03e8-0x03ef serial port COM3                absent
///  0x03f0-0x03f5 floppy disk controller          absent
///  0x03f7        floppy digital input register   absent
///  0x03f8-0x03ff serial port COM1, IRQ 4         Serial8250
///  0x04d0-0x04d1 ELCR (PIC trigger modes)        in KVM (KVM_CREATE_IRQCHIP)
///  0x0600-0x0601 ACPI sleep control and status   ACPISleepRegisters (power off)
///  0x0cf8-0x0cff PCI configuration mechanism #1  PCIConfigMechanism1 (placed by the
///                                                machine with its PCI bus)
/// ```
///
/// The interrupt controllers and the timer are emulated inside KVM, which answers their
/// ports without leaving the kernel, so they never reach this bus. The absent ranges are
/// the ports a Linux boot probes; any other port reaches no device and the machine
/// decides what to do with it.
public enum LegacyPorts {
    /// COM1, the serial console (`console=ttyS0`).
    public static let com1 = IOBus.Range(base: 0x3f8, length: Serial8250.Register.count)
    /// COM1's interrupt: ISA IRQ 4, by PC convention.
    public static let com1IRQ: UInt32 = 4

    /// The RTC's index and data ports.
    public static let cmos = IOBus.Range(base: 0x70, length: 2)

    /// The keyboard controller's data port.
    public static let i8042Data = IOBus.Range(base: 0x60, length: 1)
    /// The keyboard controller's status and command port.
    public static let i8042Command = IOBus.Range(base: 0x64, length: 1)
    /// The keyboard's interrupt: ISA IRQ 1, by PC convention.
    public static let keyboardIRQ: UInt32 = 1

    /// The ACPI sleep control and status registers (the FADT's SLEEP_CONTROL_REG and
    /// SLEEP_STATUS_REG). No PC device claims 0x600; Cloud Hypervisor's power-off
    /// register sits there too.
    public static let acpiSleep = IOBus.Range(base: 0x600, length: ACPISleepRegisters.size)

    /// QEMU's default port for isa-debug-exit (`-device isa-debug-exit,iobase=0xf4`).
    /// In the PC/AT this range (0xf0-0xff) belongs to the math coprocessor, which no
    /// x86-64 guest addresses by port.
    public static let debugExitPort = IOBus.Range(base: 0xf4, length: 1)

    /// Ports with nothing behind them that a Linux boot probes, and who probes them.
    public static let absentRanges: [(name: String, range: IOBus.Range)] = [
        // arch/x86/kernel/io_delay.c: `io_delay=0x80` (long the default) slows port
        // I/O with a write here; firmware writes POST codes here.
        ("post", IOBus.Range(base: 0x80, length: 1)),
        // arch/x86/kernel/io_delay.c: `io_delay=0xed`, for machines where 0x80 misbehaves.
        ("delay", IOBus.Range(base: 0xed, length: 1)),
        // COM2-COM4: the 8250 driver probes every legacy UART (SERIAL_PORT_DFNS in
        // arch/x86/include/asm/serial.h).
        ("com2", IOBus.Range(base: 0x2f8, length: 8)),
        ("com3", IOBus.Range(base: 0x3e8, length: 8)),
        ("com4", IOBus.Range(base: 0x2e8, length: 8)),
        // drivers/parport/parport_pc.c probes 0x3bc, 0x378 and 0x278 when built in.
        ("lpt0", IOBus.Range(base: 0x3bc, length: 4)),
        ("lpt1", IOBus.Range(base: 0x378, length: 8)),
        ("lpt2", IOBus.Range(base: 0x278, length: 8)),
        // drivers/video/console/vgacon.c, when the boot parameters describe a VGA text
        // mode; it reads back the CRT controller's registers.
        ("vga", IOBus.Range(base: 0x3c0, length: 0x20)),
        // drivers/block/floppy.c, when built in (0x3f6 between them is the IDE
        // controller's, not the floppy's).
        ("floppy", IOBus.Range(base: 0x3f0, length: 6)),
        ("floppy-dir", IOBus.Range(base: 0x3f7, length: 1)),
    ]

    /// PCI configuration mechanism #1: CONFIG_ADDRESS at 0xcf8, CONFIG_DATA at 0xcfc
    /// (arch/x86/pci/direct.c). Not installed here: the machine places
    /// `PCIConfigMechanism1` there together with its PCI bus. 0xcf9 (reset control,
    /// `reboot=p`) is in the range and, as other narrow accesses to 0xcf8-0xcfb, finds
    /// nothing.
    public static let pciConfiguration = IOBus.Range(base: 0xcf8, length: PCIConfigMechanism1.portCount)

    /// The devices the machine reaches after installation: the console's input reader
    /// feeds COM1 (`serial.withLock { $0.receive(bytes) }`), and the machine presses keys
    /// on the keyboard (`keyboardController.withLock { $0.press(keys) }`).
    public struct Installed: Sendable {
        public let serial: DeviceSlot<Serial8250>
        public let keyboardController: DeviceSlot<I8042>
    }

    /// Registers every device above on `bus`.
    ///
    /// - Parameters:
    ///   - serialOutput: where COM1's transmitted bytes go.
    ///   - serialInterrupt: COM1's interrupt line (IRQ `com1IRQ`).
    ///   - keyboardInterrupt: the keyboard's interrupt line (IRQ `keyboardIRQ`).
    ///   - clock: the RTC's time source.
    ///   - withDebugExit: whether to place `DebugExit` at `debugExitPort`.
    @discardableResult
    public static func install(
        on bus: inout IOBus,
        serialOutput: any ByteSink,
        serialInterrupt: any InterruptLine,
        keyboardInterrupt: any InterruptLine,
        clock: @escaping CMOS.Clock = CMOS.systemClock,
        withDebugExit: Bool = true
    ) throws(IOBus.OverlapError) -> Installed {
        let serial = try bus.register(
            Serial8250(name: "com1", output: serialOutput, interrupt: serialInterrupt),
            at: com1)
        try bus.register(CMOS(clock: clock), at: cmos)

        let keyboardController = DeviceSlot(I8042(keyboardInterrupt: keyboardInterrupt))
        try bus.register(keyboardController, at: i8042Data, offset: I8042.Port.data)
        try bus.register(keyboardController, at: i8042Command, offset: I8042.Port.command)
        try bus.register(ACPISleepRegisters(), at: acpiSleep)

        if withDebugExit {
            try bus.register(DebugExit(), at: debugExitPort)
        }
        for (name, range) in absentRanges {
            try bus.register(AbsentDevice(name: name), at: range)
        }
        return Installed(serial: serial, keyboardController: keyboardController)
    }
}
