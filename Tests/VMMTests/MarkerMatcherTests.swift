import Locking
import Testing
@testable import VMM

@Suite("Console markers: found however the output is split")
struct MarkerMatcherTests {
    /// Feeds `pieces` one after another; returns after which piece the marker was found.
    func foundAt(_ marker: String, _ pieces: [[UInt8]]) -> [Int] {
        var matcher = MarkerMatcher(marker)
        return pieces.indices.filter { matcher.feed(pieces[$0]) }
    }

    @Test("a marker split into two writes at every byte boundary, inside longer output, is found once, in the write that ends it")
    func everyTwoWaySplit() {
        let text = Array("boot: login: ready\r\nlogin: prompt".utf8)
        let marker = "login: prompt"
        let end = text.count
        for cut in 0...text.count {
            let found = foundAt(marker, [Array(text[..<cut]), Array(text[cut...])])
            #expect(found == [cut >= end ? 0 : 1], "cut at \(cut)")
        }
    }

    @Test("a marker split into three writes at every pair of boundaries is found once")
    func everyThreeWaySplit() {
        let text = Array("xxREADYxx".utf8)
        for first in 0...text.count {
            for second in first...text.count {
                let pieces = [Array(text[..<first]), Array(text[first..<second]), Array(text[second...])]
                #expect(foundAt("READY", pieces).count == 1, "cuts at \(first), \(second)")
            }
        }
    }

    @Test("one byte at a time, as the UART sends it; a partial match that fails falls back to the right prefix")
    func byteAtATime() {
        // "aab" inside "aaab": after "aa" then "a", the matcher must keep "aa" matched.
        let bytes = Array("aaab".utf8).map { [$0] }
        #expect(foundAt("aab", bytes) == [3])
        // "abab" in "abaabab": the failure after "aba" + "a" keeps "a".
        #expect(foundAt("abab", Array("abaabab".utf8).map { [$0] }) == [6])
    }

    @Test("output without the marker, or with only a prefix of it at the end, matches nothing")
    func noFalseMatch() {
        #expect(foundAt("login:", [Array("logi".utf8), Array("n ".utf8), Array("login".utf8)]).isEmpty)
        #expect(foundAt("ab", [[], Array("ba".utf8), []]).isEmpty)
    }

    @Test("ConsoleWatch: a split marker stops once, the output still reaches the console, the last lines drop \\r")
    func consoleWatch() {
        let console = CapturedOutput()
        let watch = ConsoleWatch(output: console, readyMarker: "rea", expectedOutput: "done\r\n")
        let fired = Counter()
        watch.whenExpectedOutputAppears { fired.increment() }
        for piece in ["line one\r\nalready do", "ne", "\r", "\nafter\r\ndone\r\n"] { watch.write(Array(piece.utf8)) }
        #expect(fired.value == 1)
        #expect(watch.sawExpectedOutput)
        #expect(watch.readyMarkerTime != nil && watch.firstByteTime != nil)
        #expect(watch.readyMarkerTime! >= watch.firstByteTime!)
        #expect(console.text == "line one\r\nalready done\r\nafter\r\ndone\r\n")
        #expect(watch.lastLines == ["line one", "already done", "after", "done"])
    }
}

/// A count threads may bump.
final class Counter: Sendable {
    private let count = Locked(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
