// swiftvmm-fuzz: runs SwiftVMM's fuzz targets (Sources/FuzzTargets).
//
// Built normally, it replays inputs and writes the seed corpus:
//   swiftvmm-fuzz list
//   swiftvmm-fuzz seeds DIR               writes DIR/TARGET/seed-N for every target
//   swiftvmm-fuzz replay TARGET FILE...   runs each file through TARGET
//
// Built for fuzzing (scripts/fuzz.sh: -sanitize=fuzzer,address -DFUZZING), it is a
// libFuzzer binary for the target named by SWIFTVMM_FUZZ_TARGET, taking libFuzzer's
// own arguments (a corpus folder, -max_total_time=60, ...).
import FuzzTargets
import HostIO
#if canImport(Glibc)
import Glibc
#endif

#if FUZZING
/// libFuzzer's entry for programs that have their own main (compiler-rt's
/// FuzzerInterface.h, "LLVMFuzzerRunDriver"): it parses libFuzzer's arguments and calls
/// `callback` with each input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The target the callback runs (a C callback cannot capture it).
nonisolated(unsafe) var fuzzedTarget: (any FuzzTarget.Type)? = nil
#endif

@main
enum FuzzMain {
    static func main() {
        #if FUZZING
        guard let name = getenv("SWIFTVMM_FUZZ_TARGET").map({ String(cString: $0) }),
              let target = FuzzTargets.named(name)
        else { fail("set SWIFTVMM_FUZZ_TARGET to one of: \(names)") }
        fuzzedTarget = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
            fuzzedTarget!.run(count == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: count)))
            return 0
        })
        #else
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "list":
            print(names)
        case "seeds" where arguments.count == 2:
            writeSeeds(into: arguments[1])
        case "replay" where arguments.count >= 3:
            guard let target = FuzzTargets.named(arguments[1]) else { fail("no target '\(arguments[1])'; the targets are \(names)") }
            for path in arguments.dropFirst(2) {
                guard let input = HostIO.contents(of: path) else { fail("cannot read \(path)") }
                target.run(input)
                print("\(target.name): \(path): ok")
            }
        default:
            fail("usage: swiftvmm-fuzz list | seeds DIR | replay TARGET FILE...")
        }
        #endif
    }

    static var names: String { FuzzTargets.all.map { $0.name }.joined(separator: " ") }

    static func writeSeeds(into directory: String) {
        for target in FuzzTargets.all {
            let folder = directory + "/" + target.name
            makeDirectories(folder)
            let seeds = target.seeds
            for (index, seed) in seeds.enumerated() {
                let path = folder + "/seed-\(index)"
                guard let file = fopen(path, "wb"), fwrite(seed, 1, seed.count, file) == seed.count else { fail("cannot write \(path)") }
                fclose(file)
            }
            print("\(folder): \(seeds.count) seeds")
        }
    }

    /// mkdir -p.
    static func makeDirectories(_ path: String) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            mkdir(prefix, 0o755)
        }
    }

    static func fail(_ message: String) -> Never {
        let line = Array("swiftvmm-fuzz: \(message)\n".utf8)
        _ = write(STDERR_FILENO, line, line.count)
        exit(2)
    }
}
