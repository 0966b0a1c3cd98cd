extension LegacyPorts {
    /// The keyboard's interrupt: ISA IRQ 1, by PC convention.
    public static let keyboardIRQ: UInt32 = 1
}
