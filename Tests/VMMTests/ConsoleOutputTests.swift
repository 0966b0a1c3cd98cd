import Foundation
import Testing
@testable import VMM

@Suite("Console output, a line at a time")
struct ConsoleOutputTests {
    /// A pipe whose write end the output writes to, and a way to read what came out.
    final class Pipes {
        let pipe = Pipe()
        var writeFD: Int32 { pipe.fileHandleForWriting.fileDescriptor }
        var readFD: Int32 { pipe.fileHandleForReading.fileDescriptor }

        /// Bytes in the pipe now.
        var queued: Int32 {
            var count: Int32 = 0
            _ = ioctl(readFD, UInt(FIONREAD), &count)
            return count
        }

        func read(_ count: Int) -> [UInt8] {
            Array(pipe.fileHandleForReading.readData(ofLength: count))
        }
    }

    @Test("a finished line is in the output when write returns; the bytes before its newline wait for it")
    func lines() {
        let pipes = Pipes()
        let output = ConsoleOutput(fd: pipes.writeFD)
        output.write(Array("boot\n".utf8))
        #expect(pipes.read(5) == Array("boot\n".utf8))
        // The output is not quiet now: the next bytes wait for their line.
        for byte in Array("login".utf8) { output.write(byte: byte) }
        #expect(pipes.queued == 0)
        output.write(byte: UInt8(ascii: "\n"))
        #expect(pipes.queued == 6)
        #expect(pipes.read(6) == Array("login\n".utf8))
    }

    @Test("the first byte after a quiet spell is in the output when write returns; the bytes right after it wait")
    func firstByteAfterQuiet() {
        let pipes = Pipes()
        let output = ConsoleOutput(fd: pipes.writeFD)
        output.write(byte: UInt8(ascii: "H"))
        #expect(pipes.queued == 1)
        for byte in Array("ello".utf8) { output.write(byte: byte) }
        #expect(pipes.queued == 1)
        output.write(byte: UInt8(ascii: "\n"))
        #expect(pipes.read(6) == Array("Hello\n".utf8))
        // Quiet again: the next byte goes out at once too.
        usleep(useconds_t(ConsoleOutput.quietNanoseconds / 1000 * 2))
        output.write(byte: UInt8(ascii: "#"))
        #expect(pipes.queued == 1)
        #expect(pipes.read(1) == Array("#".utf8))
    }

    @Test("an unfinished line (a prompt) goes out on its own, a few milliseconds later")
    func partialLine() {
        let pipes = Pipes()
        let output = ConsoleOutput(fd: pipes.writeFD)
        output.write(Array("boot\n".utf8))
        #expect(pipes.read(5) == Array("boot\n".utf8))
        // Not quiet: the prompt waits for its line, then goes out on its own.
        output.write(Array("# ".utf8))
        #expect(pipes.queued == 0)
        let deadline = Date().addingTimeInterval(2)
        while pipes.queued < 2 && Date() < deadline { usleep(1000) }
        #expect(pipes.read(2) == Array("# ".utf8))
    }

    @Test("bytes leave in order, whatever mix of lines, partial lines and long lines comes")
    func order() {
        let pipes = Pipes()
        let output = ConsoleOutput(fd: pipes.writeFD)
        var sent: [UInt8] = [], received: [UInt8] = []
        for round in 0..<200 {
            let chunk = Array(repeating: UInt8(ascii: "a") + UInt8(round % 26), count: round % 7 == 0 ? 5000 : round % 13)
                + (round % 3 == 0 ? [UInt8(ascii: "\n")] : [])
            sent += chunk
            if chunk.count == 1 { output.write(byte: chunk[0]) } else { output.write(chunk) }
            if round % 50 == 0 { usleep(5000) }   // let partial-line flushes happen between
            // Keep the pipe from filling: read what is there.
            if pipes.queued > 0 { received.append(contentsOf: pipes.read(Int(pipes.queued))) }
        }
        output.finishWriting()
        received.append(contentsOf: pipes.read(Int(pipes.queued)))
        #expect(received == sent)
    }

    @Test("finishWriting writes what is left, and gives up within its deadline on an output that takes nothing")
    func finish() {
        let pipes = Pipes()
        let output = ConsoleOutput(fd: pipes.writeFD)
        output.write(Array("tail".utf8))
        output.finishWriting()
        #expect(pipes.read(4) == Array("tail".utf8))

        let full = Pipes()
        let stalled = ConsoleOutput(fd: full.writeFD)
        let filler = [UInt8](repeating: 0x2e, count: 4096)
        let writeEnd = full.pipe.fileHandleForWriting
        _ = fcntl(full.writeFD, F_SETFL, fcntl(full.writeFD, F_GETFL) | O_NONBLOCK)
        while filler.withUnsafeBytes({ Glibc.write(writeEnd.fileDescriptor, $0.baseAddress, $0.count) }) > 0 {}
        stalled.write(Array("lost".utf8))
        let started = Date()
        stalled.finishWriting()
        #expect(Date().timeIntervalSince(started) < 2)
    }
}
