/// Where an entropy device's bytes come from: the host kernel's random number
/// generator (getrandom(2)) in a machine, a fixed pattern or a failing source in tests.
public protocol EntropySource: Sendable {
    /// Up to `count` random bytes: fewer when the source has fewer now, none when it
    /// failed.
    func randomBytes(_ count: Int) -> [UInt8]
}
