// swiftvmm: a minimal KVM virtual machine monitor. See `swiftvmm --help`.
import SwiftVMMCommand
#if canImport(Glibc)
import Glibc
#endif

exit(SwiftVMMCommand.main(Array(CommandLine.arguments.dropFirst())))
