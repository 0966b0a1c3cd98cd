/// The demo guest built into the executable: the project's test guest
/// (guest-images/testguest), so that `swiftvmm run` with no kernel boots something.
/// Its bytes are generated into DemoGuestImage.swift by guest-images/testguest/build.sh.
public enum DemoGuest {
    /// The guest's ELF image.
    public static var image: [UInt8] { decodeHex(imageHex) }

    /// Decodes hexadecimal text, ignoring whitespace.
    static func decodeHex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var high: UInt8? = nil
        for character in text.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: continue
            }
            if let value = high {
                bytes.append(value << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }
}
