// swift-tools-version:6.0
// SwiftVMM: a minimal KVM virtual machine monitor.
//
// Targets are layered; dependencies point down only (see README.md):
//
//   swiftvmm -> SwiftVMMCommand (CLI) -> VMM -> Devices, Virtio, Boot, HostIO -> GuestMemory
//               SwiftVMMCommand -> FirecrackerAPI (the second front end) -> VMM, Virtio, JSON
//                     VMM -> KVM -> CKVM          VMM, Virtio, Devices -> Locking
//                     VMM -> HostIO -> CKVM (tun/tap ioctl numbers, getrandom)
//   Devices, Virtio, Boot -> CUAPI (the kernel's boot, ELF, PCI and virtio headers)
//   VMM -> CDemoGuest (the demo guest's bytes)
//   KVM, GuestMemory, HostIO, Virtio -> SystemErrors (errno, and the call that failed)
import PackageDescription

// Release builds optimize across modules and reach type metadata through accessors, not
// mangled names (what each buys: docs/PERFORMANCE.md, figures 2 and 4).
let optimized: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization", "-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release))]

// The directory of the linker script that links libstdc++ statically (the swiftvmm
// target, below), absolute: the linker runs in a directory of SwiftPM's choosing.
let staticCXXDirectory = String(#filePath.dropLast("Package.swift".count)) + "Sources/swiftvmm/link"

let package = Package(
    name: "SwiftVMM",
    products: [
        .executable(name: "swiftvmm", targets: ["swiftvmm"]),
    ],
    targets: [
        // The only C: Linux UAPI headers, ioctl numbers, non-variadic ioctl wrappers.
        .target(name: "CKVM"),
        // The demo guest's bytes, assembled in from a copy of guest-images/testguest/testguest.elf.
        .target(name: "CDemoGuest", exclude: ["testguest.elf"], cSettings: [.headerSearchPath(".")]),
        // The kernel's UAPI headers for boot data, ELF, PCI and virtio: no KVM, no ioctls.
        .systemLibrary(name: "CUAPI"),
        // errno written one way everywhere, and the failed system call that set it.
        .target(name: "SystemErrors", swiftSettings: optimized),
        // /dev/kvm, VM and vCPU file descriptors, typed errors.
        .target(name: "KVM", dependencies: ["CKVM", "SystemErrors"], swiftSettings: optimized),
        // Guest physical addresses, the guest RAM mapping, bounds-checked access.
        .target(name: "GuestMemory", dependencies: ["SystemErrors"], swiftSettings: optimized),
        // Values shared between threads under a lock (a POSIX mutex ThreadSanitizer sees).
        .target(name: "Locking", swiftSettings: optimized),
        // System calls on host files, with their buffers, so the layers above hold no
        // pointers: the user's input files, disk images (block devices' sizes through the
        // C shim's BLKGETSIZE64), the console's reads and writes; tap devices (the shim's
        // tun ioctls), socket pairs, passt's process, poll(2), getrandom(2).
        .target(name: "HostIO", dependencies: ["CKVM", "GuestMemory", "SystemErrors"], swiftSettings: optimized),
        // Device models: the 8250 UART, legacy ports, the I/O buses, PCI.
        .target(name: "Devices", dependencies: ["CUAPI", "GuestMemory", "Locking"], swiftSettings: optimized),
        // virtio: split virtqueues, the device status machine, the block, network and
        // entropy devices, and the virtio-mmio and virtio-pci transports. Never imports KVM.
        // It holds no unsafe code, and Swift's strict memory safety checking keeps it so (the
        // flag's name is SwiftPM's for any compiler flag, not a sign of unsafety).
        .target(name: "Virtio", dependencies: ["CUAPI", "GuestMemory", "Locking", "Devices", "SystemErrors"],
                swiftSettings: [.unsafeFlags(["-strict-memory-safety"])] + optimized),
        // The Linux x86-64 boot protocol: loaders, zero page, e820, page tables, GDT.
        .target(name: "Boot", dependencies: ["CUAPI", "GuestMemory"], swiftSettings: optimized),
        // The machine builder, vCPU loops, exit dispatch, lifecycle.
        .target(name: "VMM", dependencies: ["CDemoGuest", "KVM", "CUAPI", "GuestMemory", "Locking", "HostIO", "Devices", "Virtio", "Boot"], swiftSettings: optimized),
        // JSON values: written for --stats-json and the API, read (strictly) for the API.
        .target(name: "JSON", swiftSettings: optimized),
        // The second front end: Firecracker's command line and REST API on a Unix socket
        // (an HTTP/1.1 reader of its own, the API's resources, a controller that builds
        // the same MachineConfiguration and runs the same Machine as the CLI).
        .target(name: "FirecrackerAPI", dependencies: ["VMM", "Virtio", "JSON", "HostIO", "Locking"], swiftSettings: optimized),
        // The command line: flags -> configuration, the console, exit statuses.
        .target(name: "SwiftVMMCommand", dependencies: ["VMM", "KVM", "HostIO", "JSON", "FirecrackerAPI", "Virtio"], swiftSettings: optimized),
        // Release builds link the Swift runtime into the executable, and the C++ library
        // it uses too: the runtime's `-lstdc++` finds link/libstdc++.so first, a linker
        // script naming the static archive (docs/PERFORMANCE.md, "Start-up, a third time").
        .executableTarget(
            name: "swiftvmm", dependencies: ["SwiftVMMCommand"], exclude: ["link"], swiftSettings: optimized,
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-L", staticCXXDirectory], .when(configuration: .release))]),
        // Fuzz targets: the code that takes outside input, driven by arbitrary bytes, with
        // invariants; swiftvmm-fuzz runs them (under libFuzzer: scripts/fuzz.sh).
        .target(name: "FuzzTargets", dependencies: ["SystemErrors", "CUAPI", "Devices", "Virtio", "Boot", "GuestMemory", "Locking", "HostIO", "SwiftVMMCommand", "FirecrackerAPI", "JSON"]),
        .executableTarget(name: "swiftvmm-fuzz", dependencies: ["FuzzTargets", "HostIO"]),

        .testTarget(name: "KVMTests", dependencies: ["KVM", "CKVM", "SystemErrors"]),
        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices", "GuestMemory", "CUAPI", "Locking"]),
        .testTarget(name: "VirtioTests", dependencies: ["Virtio", "SystemErrors", "Devices", "GuestMemory", "CUAPI", "Locking"]),
        .testTarget(name: "BootTests", dependencies: ["Boot", "GuestMemory", "CUAPI"]),
        .testTarget(name: "VMMTests", dependencies: ["VMM", "HostIO", "SystemErrors", "KVM", "CKVM", "Devices", "Virtio", "Boot", "GuestMemory", "Locking"]),
        .testTarget(name: "SwiftVMMCommandTests", dependencies: ["SwiftVMMCommand", "VMM", "Locking", "JSON"]),
        .testTarget(name: "FirecrackerAPITests", dependencies: ["FirecrackerAPI", "JSON", "VMM", "Virtio", "HostIO", "Locking"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"]),
    ]
)
