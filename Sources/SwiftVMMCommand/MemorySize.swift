/// Parses a memory size as `--memory` takes it: `512M`, `2G`, `1024` (plain MiB),
/// also `512MiB`, `2GiB`, `2g`. Sizes are whole mebibytes.
public enum MemorySize {
    /// Why a `--memory` value is refused; the description names the value.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notASize(String)
        case zero(String)
        case tooLarge(String)

        public var description: String {
            switch self {
            case .notASize(let text):
                return "--memory '\(text)': not a size; use a number of MiB or a suffix, as in 512M or 2G"
            case .zero(let text):
                return "--memory '\(text)': the size must be more than zero"
            case .tooLarge(let text):
                return "--memory '\(text)': too large; SwiftVMM gives a guest at most \(MemorySize.maximumMiB >> 10)G"
            }
        }
    }

    /// The largest guest SwiftVMM accepts before asking the host: 1 TiB.
    public static let maximumMiB: UInt64 = 1 << 20

    /// Returns the size in bytes.
    public static func parse(_ text: String) throws(ParseError) -> UInt64 {
        var digits = Substring(text)
        var multiplierMiB: UInt64 = 1
        let suffixes: [(String, UInt64)] = [
            ("GiB", 1024), ("MiB", 1), ("G", 1024), ("M", 1), ("g", 1024), ("m", 1),
        ]
        for (suffix, multiplier) in suffixes where digits.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            multiplierMiB = multiplier
            break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .notASize(text)
        }
        guard let value = UInt64(digits) else { throw .tooLarge(text) }
        guard value > 0 else { throw .zero(text) }
        let (mebibytes, overflow) = value.multipliedReportingOverflow(by: multiplierMiB)
        guard !overflow, mebibytes <= maximumMiB else { throw .tooLarge(text) }
        return mebibytes << 20
    }
}
