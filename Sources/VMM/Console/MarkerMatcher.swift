/// Finds a marker string in a byte stream that arrives in pieces of any size: a marker
/// split across two writes, at any byte, is found all the same. The guest's serial
/// output reaches the host a byte at a time, but nothing here depends on that.
///
/// It is the Knuth-Morris-Pratt automaton: `matched` counts the marker's bytes matched
/// so far, and on a mismatch the failure table says how much of the marker is still
/// matched (the longest proper prefix of the match that is also its suffix), so no
/// byte is ever looked at twice.
struct MarkerMatcher: Sendable {
    let marker: [UInt8]
    private let failure: [Int]
    private var matched = 0

    /// A matcher for `marker`, which must not be empty.
    init(_ marker: String) {
        self.marker = Array(marker.utf8)
        precondition(!self.marker.isEmpty, "an empty marker matches nothing")
        var failure = [Int](repeating: 0, count: self.marker.count)
        var length = 0
        for index in 1..<max(1, self.marker.count) {
            while length > 0 && self.marker[index] != self.marker[length] { length = failure[length - 1] }
            if self.marker[index] == self.marker[length] { length += 1 }
            failure[index] = length
        }
        self.failure = failure
    }

    /// Feeds `bytes`; returns true if the marker ended within them.
    mutating func feed(_ bytes: [UInt8]) -> Bool {
        var found = false
        for byte in bytes {
            while matched > 0 && marker[matched] != byte { matched = failure[matched - 1] }
            if marker[matched] == byte { matched += 1 }
            if matched == marker.count {
                found = true
                matched = failure[matched - 1]
            }
        }
        return found
    }
}
