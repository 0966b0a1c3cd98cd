/// A PS/2 keyboard, as plugged into the keyboard controller's first port (`I8042`): no
/// keys anyone can press, but the command set a keyboard driver probes with, and keys the
/// machine can press for the user (Ctrl-Alt-Delete).
///
/// The host talks to the keyboard in bytes: it sends a command (and maybe a parameter),
/// the keyboard answers ACK (0xFA) and any reply bytes; while scanning is enabled, key
/// presses and releases arrive as scan codes. Commands and replies follow the IBM PC AT
/// Technical Reference, "Keyboard", and Linux's drivers/input/keyboard/atkbd.c, which
/// probes with them: disable (0xF5), identify (0xF2), set LEDs (0xED), select the scan
/// code set (0xF0), set the typematic rate (0xF3), enable (0xF4).
///
/// Translation: an 8042 normally translates the keyboard's scan code set 2 into set 1
/// (command byte bit 6, XLATE), with a table. This keyboard knows each of its keys'
/// codes in both sets, so when the controller says translation is on it sends set 1
/// codes, and the identify reply 0xAB 0x41 instead of 0xAB 0x83, as the host would have
/// seen them through the table (QEMU's PS/2 keyboard does the same).
public struct PS2Keyboard: Sendable {
    /// Keyboard commands (host to keyboard), as atkbd.c names them.
    enum Command {
        static let setLEDs: UInt8 = 0xed
        static let echo: UInt8 = 0xee
        static let selectScanCodeSet: UInt8 = 0xf0
        static let identify: UInt8 = 0xf2
        static let setTypematicRate: UInt8 = 0xf3
        static let enable: UInt8 = 0xf4
        /// Disable scanning and restore the defaults.
        static let disable: UInt8 = 0xf5
        static let setDefaults: UInt8 = 0xf6
        static let resend: UInt8 = 0xfe
        static let reset: UInt8 = 0xff
    }

    /// Keyboard replies (keyboard to host).
    enum Reply {
        static let acknowledge: UInt8 = 0xfa
        /// Basic assurance test passed: sent after a reset.
        static let selfTestPassed: UInt8 = 0xaa
        static let echo: UInt8 = 0xee
        /// "Resend": the command or parameter was not understood.
        static let resend: UInt8 = 0xfe
        /// The identify reply of an MF2 keyboard: 0xAB, then 0x83 (0x41 translated).
        static let identity: UInt8 = 0xab
        static let identitySecond: UInt8 = 0x83
        static let identitySecondTranslated: UInt8 = 0x41
    }

    /// A key this keyboard can press, with its make code in scan code sets 1 and 2
    /// (IBM PC AT Technical Reference, "Keyboard Scan Codes"). Extended keys are
    /// prefixed with 0xE0 in both sets.
    public struct Key: Sendable, Equatable {
        let set1: UInt8
        let set2: UInt8
        let extended: Bool

        public static let leftControl = Key(set1: 0x1d, set2: 0x14, extended: false)
        public static let leftAlt = Key(set1: 0x38, set2: 0x11, extended: false)
        public static let delete = Key(set1: 0x53, set2: 0x71, extended: true)
    }

    /// The extended-key prefix, in both sets.
    static let extendedPrefix: UInt8 = 0xe0
    /// Set 2's break prefix; set 1 marks a break by setting bit 7 of the make code.
    static let set2BreakPrefix: UInt8 = 0xf0
    static let set1BreakBit: UInt8 = 0x80
    /// A real keyboard buffers 16 bytes; more would be key presses the host cannot take.
    static let bufferCapacity = 16

    /// Bytes for the host, oldest first.
    private(set) var pending: [UInt8] = []
    /// The command waiting for its parameter byte, if any.
    private var commandAwaitingParameter: UInt8?
    private var scanningEnabled = true
    private var scanCodeSet: UInt8 = 2
    private var lastSent: UInt8 = Reply.acknowledge

    /// A keyboard after power-on: scanning enabled, set 2, nothing to send.
    public init() {}

    /// Whether a byte waits for the host.
    var hasPending: Bool { !pending.isEmpty }

    /// Takes the oldest byte for the host.
    mutating func takePending() -> UInt8? {
        guard !pending.isEmpty else { return nil }
        lastSent = pending.removeFirst()
        return lastSent
    }

    /// A byte the host sent: a command, or the parameter of the last one.
    /// `translated` says whether the controller translates to set 1 (XLATE).
    mutating func receive(_ byte: UInt8, translated: Bool) {
        if let command = commandAwaitingParameter {
            commandAwaitingParameter = nil
            parameter(byte, of: command, translated: translated)
            return
        }
        switch byte {
        case Command.setLEDs, Command.setTypematicRate, Command.selectScanCodeSet:
            commandAwaitingParameter = byte
            reply([Reply.acknowledge])
        case Command.echo:
            reply([Reply.echo])
        case Command.identify:
            let second = translated ? Reply.identitySecondTranslated : Reply.identitySecond
            reply([Reply.acknowledge, Reply.identity, second])
        case Command.enable:
            scanningEnabled = true
            reply([Reply.acknowledge])
        case Command.disable:
            restoreDefaults()
            scanningEnabled = false
            reply([Reply.acknowledge])
        case Command.setDefaults:
            restoreDefaults()
            reply([Reply.acknowledge])
        case Command.resend:
            reply([lastSent])
        case Command.reset:
            restoreDefaults()
            scanningEnabled = true
            reply([Reply.acknowledge, Reply.selfTestPassed])
        default:
            reply([Reply.resend])
        }
    }

    private mutating func parameter(_ byte: UInt8, of command: UInt8, translated: Bool) {
        switch command {
        case Command.selectScanCodeSet where byte == 0:
            // Report the set in use, as the host sees it.
            reply([Reply.acknowledge, translated ? Self.translatedSetNumber(scanCodeSet) : scanCodeSet])
        case Command.selectScanCodeSet where byte == 1 || byte == 2:
            scanCodeSet = byte
            reply([Reply.acknowledge])
        case Command.selectScanCodeSet:
            // Set 3 (or nonsense): this keyboard has only sets 1 and 2.
            reply([Reply.resend])
        default:
            // LEDs and typematic rate: there is nothing to light or repeat.
            reply([Reply.acknowledge])
        }
    }

    /// The replies "set 1" and "set 2" as the host reads them through the 8042's
    /// translation table, which maps the bytes 0x01 and 0x02 to 0x43 and 0x41.
    static func translatedSetNumber(_ set: UInt8) -> UInt8 { set == 1 ? 0x43 : 0x41 }

    private mutating func restoreDefaults() {
        scanCodeSet = 2
        commandAwaitingParameter = nil
    }

    /// A command's answer replaces whatever keys were waiting: a keyboard clears its
    /// buffer when it receives a command.
    private mutating func reply(_ bytes: [UInt8]) {
        pending = bytes
    }

    /// Presses `keys` in order and releases them in reverse, as a person holding a chord
    /// would. Ignored while scanning is disabled, and dropped when the buffer is full, as
    /// a keyboard drops keys it cannot buffer. `translated`: as in `receive`.
    mutating func press(_ keys: [Key], translated: Bool) {
        guard scanningEnabled else { return }
        let set1 = translated || scanCodeSet == 1
        var codes: [UInt8] = []
        for key in keys { codes += makeCode(key, set1: set1) }
        for key in keys.reversed() { codes += breakCode(key, set1: set1) }
        guard pending.count + codes.count <= Self.bufferCapacity else { return }
        pending += codes
    }

    private func makeCode(_ key: Key, set1: Bool) -> [UInt8] {
        (key.extended ? [Self.extendedPrefix] : []) + [set1 ? key.set1 : key.set2]
    }

    private func breakCode(_ key: Key, set1: Bool) -> [UInt8] {
        let prefix: [UInt8] = key.extended ? [Self.extendedPrefix] : []
        return set1 ? prefix + [key.set1 | Self.set1BreakBit] : prefix + [Self.set2BreakPrefix, key.set2]
    }
}
