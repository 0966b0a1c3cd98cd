// swift-tools-version:6.0
// SwiftVMM: a minimal KVM virtual machine monitor.
//
// Targets are layered; dependencies point down only (see README.md):
//
//   swiftvmm -> SwiftVMMCommand (CLI) -> VMM -> Devices, Boot -> GuestMemory
//                     VMM -> KVM -> CKVM
import PackageDescription

let package = Package(
    name: "SwiftVMM",
    products: [
        .executable(name: "swiftvmm", targets: ["swiftvmm"]),
    ],
    targets: [
        // The only C: Linux UAPI headers, ioctl numbers, non-variadic ioctl wrappers.
        .target(name: "CKVM"),
        // /dev/kvm, VM and vCPU file descriptors, typed errors.
        .target(name: "KVM", dependencies: ["CKVM"]),
        // Guest physical addresses, the guest RAM mapping, bounds-checked access.
        .target(name: "GuestMemory"),
        // Device models: the 8250 UART, legacy ports, the port I/O bus.
        .target(name: "Devices", dependencies: ["GuestMemory"]),
        // The Linux x86-64 boot protocol: loaders, zero page, e820, page tables, GDT.
        .target(name: "Boot", dependencies: ["CKVM", "GuestMemory"]),
        // The machine builder, vCPU loops, exit dispatch, lifecycle.
        .target(name: "VMM", dependencies: ["KVM", "GuestMemory", "Devices", "Boot"]),
        // The command line: flags -> configuration, the console, exit statuses.
        .target(name: "SwiftVMMCommand", dependencies: ["VMM", "KVM"]),
        // Release builds link the Swift runtime into the executable: the dynamic loader
        // no longer relocates 15 shared libraries at every start (docs/PERFORMANCE.md).
        .executableTarget(
            name: "swiftvmm", dependencies: ["SwiftVMMCommand"],
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),

        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices", "GuestMemory"]),
        .testTarget(name: "BootTests", dependencies: ["Boot", "GuestMemory", "CKVM"]),
        .testTarget(name: "VMMTests", dependencies: ["VMM", "KVM", "Devices", "Boot", "GuestMemory"]),
        .testTarget(name: "SwiftVMMCommandTests", dependencies: ["SwiftVMMCommand", "VMM"]),
    ]
)
