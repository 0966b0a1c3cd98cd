// swift-tools-version:6.0
// SwiftVMM: a minimal KVM virtual machine monitor.
//
// Targets are layered; dependencies point down only (see README.md):
//
//   swiftvmm -> SwiftVMMCommand (CLI) -> VMM -> Devices, Virtio, Boot -> GuestMemory
//               SwiftVMMCommand -> FirecrackerAPI (the second front end) -> VMM, JSON
//                     VMM -> KVM -> CKVM          VMM, Virtio, Devices -> Locking
//   Devices, Virtio, Boot -> CUAPI (the kernel's boot, ELF, PCI and virtio headers)
import PackageDescription

// Release builds optimize across modules: generic code (GuestMemory's typed accessors,
// the virtio transports over their device) is specialized where it is used instead of
// looking up type metadata at run time, about 3,000 instructions of every disk request
// (docs/PERFORMANCE.md, figure 4).
let optimized: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "SwiftVMM",
    products: [
        .executable(name: "swiftvmm", targets: ["swiftvmm"]),
    ],
    targets: [
        // The only C: Linux UAPI headers, ioctl numbers, non-variadic ioctl wrappers.
        .target(name: "CKVM"),
        // The kernel's UAPI headers for boot data, ELF, PCI and virtio: no KVM, no ioctls.
        .systemLibrary(name: "CUAPI"),
        // /dev/kvm, VM and vCPU file descriptors, typed errors.
        .target(name: "KVM", dependencies: ["CKVM"], swiftSettings: optimized),
        // Guest physical addresses, the guest RAM mapping, bounds-checked access.
        .target(name: "GuestMemory", swiftSettings: optimized),
        // Values shared between threads under a lock (a POSIX mutex ThreadSanitizer sees).
        .target(name: "Locking", swiftSettings: optimized),
        // System calls on host files, with their buffers, so the layers above hold no pointers.
        .target(name: "HostIO", swiftSettings: optimized),
        // Device models: the 8250 UART, legacy ports, the I/O buses, PCI.
        .target(name: "Devices", dependencies: ["CUAPI", "GuestMemory", "Locking"], swiftSettings: optimized),
        // virtio: split virtqueues, the device status machine, the block device, and the
        // virtio-mmio and virtio-pci transports. Never imports KVM. It holds no unsafe
        // code, and Swift's strict memory safety checking keeps it so (the flag's name is
        // SwiftPM's for any compiler flag, not a sign of unsafety).
        .target(name: "Virtio", dependencies: ["CUAPI", "GuestMemory", "Locking", "Devices"],
                swiftSettings: [.unsafeFlags(["-strict-memory-safety"])] + optimized),
        // The Linux x86-64 boot protocol: loaders, zero page, e820, page tables, GDT.
        .target(name: "Boot", dependencies: ["CUAPI", "GuestMemory"], swiftSettings: optimized),
        // The machine builder, vCPU loops, exit dispatch, lifecycle.
        .target(name: "VMM", dependencies: ["KVM", "CUAPI", "GuestMemory", "Locking", "HostIO", "Devices", "Virtio", "Boot"], swiftSettings: optimized),
        // JSON values: written for --stats-json and the API, read (strictly) for the API.
        .target(name: "JSON", swiftSettings: optimized),
        // The second front end: Firecracker's command line and REST API on a Unix socket
        // (an HTTP/1.1 reader of its own, the API's resources, a controller that builds
        // the same MachineConfiguration and runs the same Machine as the CLI).
        .target(name: "FirecrackerAPI", dependencies: ["VMM", "JSON", "HostIO", "Locking"], swiftSettings: optimized),
        // The command line: flags -> configuration, the console, exit statuses.
        .target(name: "SwiftVMMCommand", dependencies: ["VMM", "KVM", "JSON", "FirecrackerAPI"], swiftSettings: optimized),
        // Release builds link the Swift runtime into the executable: the dynamic loader
        // no longer relocates 15 shared libraries at every start (docs/PERFORMANCE.md).
        .executableTarget(
            name: "swiftvmm", dependencies: ["SwiftVMMCommand"], swiftSettings: optimized,
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        // Fuzz targets: the code that takes outside input, driven by arbitrary bytes, with
        // invariants; swiftvmm-fuzz runs them (under libFuzzer: scripts/fuzz.sh).
        .target(name: "FuzzTargets", dependencies: ["CUAPI", "Devices", "Virtio", "Boot", "GuestMemory", "Locking", "HostIO", "SwiftVMMCommand", "FirecrackerAPI", "JSON"]),
        .executableTarget(name: "swiftvmm-fuzz", dependencies: ["FuzzTargets", "HostIO"]),

        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices", "GuestMemory", "CUAPI", "Locking"]),
        .testTarget(name: "VirtioTests", dependencies: ["Virtio", "Devices", "GuestMemory", "CUAPI", "Locking"]),
        .testTarget(name: "BootTests", dependencies: ["Boot", "GuestMemory", "CUAPI"]),
        .testTarget(name: "VMMTests", dependencies: ["VMM", "KVM", "Devices", "Virtio", "Boot", "GuestMemory", "Locking", "HostIO"]),
        .testTarget(name: "SwiftVMMCommandTests", dependencies: ["SwiftVMMCommand", "VMM", "Locking", "JSON"]),
        .testTarget(name: "FirecrackerAPITests", dependencies: ["FirecrackerAPI", "JSON", "VMM", "HostIO", "Locking"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"]),
    ]
)
