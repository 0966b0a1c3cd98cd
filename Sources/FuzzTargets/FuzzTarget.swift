/// One piece of SwiftVMM that takes input from outside, driven by arbitrary bytes.
///
/// A target turns the bytes into the inputs its code takes (register accesses, guest
/// memory contents, a file, arguments) and checks what must hold whatever the input:
/// beyond "does not crash", the invariants each target lists. A failed invariant traps,
/// which is what a fuzzer reports. The same targets replay their corpus and every input
/// a fuzzer once found in `swift test` (Tests/FuzzTargetsTests), and in `swiftvmm-fuzz`,
/// which libFuzzer drives (scripts/fuzz.sh).
public protocol FuzzTarget {
    /// The name scripts and corpus folders use ("uart", "virtqueue").
    static var name: String { get }
    /// Runs one input.
    static func run(_ input: [UInt8])
    /// Inputs that reach deep into the target (a driver's whole initialization, a real
    /// kernel image), from which a fuzzer starts. `swiftvmm-fuzz seeds DIR` writes them
    /// out as the committed corpus.
    static var seeds: [[UInt8]] { get }
}

/// Every target, by name.
public enum FuzzTargets {
    public static var all: [any FuzzTarget.Type] {
        [
            UARTTarget.self,
            LegacyPortsTarget.self,
            KernelLoaderTarget.self,
            ArgumentsTarget.self,
            VirtqueueTarget.self,
            BlockRequestTarget.self,
            NetTarget.self,
            VirtioMMIOTarget.self,
            VirtioPCITarget.self,
            FirecrackerAPITarget.self,
        ]
    }

    /// The target whose `name` is `name`, or nil: how `swiftvmm-fuzz TARGET` finds it.
    public static func named(_ name: String) -> (any FuzzTarget.Type)? {
        all.first { $0.name == name }
    }
}

/// The repository's root, found from this file's path when it was compiled: seeds read
/// the project's own kernel images from it.
let repositoryRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

/// Stops the run when an invariant does not hold, naming it: the fuzzer's crash report
/// then says which.
func require(_ condition: Bool, _ invariant: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(invariant())") }
}
