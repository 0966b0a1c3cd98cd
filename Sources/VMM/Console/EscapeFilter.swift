/// The console's escape key, as in QEMU: Ctrl-A, then a command letter.
///
/// Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends one Ctrl-A to the guest.
/// Everything else passes through to the guest's serial port unchanged.
public struct EscapeFilter: Sendable {
    /// Ctrl-A (ASCII SOH).
    public static let escapeByte: UInt8 = 0x01

    /// What a letter after Ctrl-A asks for.
    public enum Command: Sendable, Equatable {
        case quit
        case help
    }

    private var sawEscape = false

    /// A filter that has seen no Ctrl-A yet.
    public init() {}

    /// Splits typed bytes into those for the guest and at most one command (the first);
    /// bytes after a command are dropped.
    public mutating func filter(_ input: [UInt8]) -> (toGuest: [UInt8], command: Command?) {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        for byte in input {
            if sawEscape {
                sawEscape = false
                switch byte {
                case UInt8(ascii: "x"), UInt8(ascii: "X"): return (output, .quit)
                case UInt8(ascii: "h"), UInt8(ascii: "H"), UInt8(ascii: "?"): return (output, .help)
                case Self.escapeByte: output.append(Self.escapeByte)
                default: output.append(contentsOf: [Self.escapeByte, byte])
                }
            } else if byte == Self.escapeByte {
                sawEscape = true
            } else {
                output.append(byte)
            }
        }
        return (output, nil)
    }

    public static let help = "\r\nC-a x    quit the VM\r\nC-a h    this help\r\nC-a C-a  send C-a to the guest\r\n"
}
