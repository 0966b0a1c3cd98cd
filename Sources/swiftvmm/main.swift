// swiftvmm: a minimal KVM virtual machine monitor. See `swiftvmm --help`. Started through
// a link named `firecracker`, it is Firecracker's front end (`swiftvmm firecracker`).
import SwiftVMMCommand
#if canImport(Glibc)
import Glibc
#endif

exit(SwiftVMMCommand.main(SwiftVMMCommand.arguments(
    programName: CommandLine.arguments[0], Array(CommandLine.arguments.dropFirst()))))
