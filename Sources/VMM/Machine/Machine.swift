import Boot
import Devices
import GuestMemory
import HostIO
import KVM
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// A virtual machine, built and ready to run: KVM objects, guest RAM with a kernel in
/// it, devices on their buses, and one thread per vCPU.
///
/// `build` does every check and every allocation; if anything fails, it throws and the
/// partly built machine is released (file descriptors closed, memory unmapped) before
/// any guest instruction runs.
public final class Machine: Sendable {
    public let configuration: MachineConfiguration
    let vm: VirtualMachine
    let memory: GuestMemory
    let threads: [VCPUThread]
    let handler: ExitHandler
    let uart: DeviceSlot<Serial8250>
    /// The i8042, through which keys are pressed on the guest's keyboard (`Machine+Control`).
    let keyboardController: DeviceSlot<I8042>
    let console: Console
    let lifecycle = Lifecycle()
    /// Where vCPUs wait while the machine is paused (`Machine+Control`).
    let pauseGate = PauseGate()
    /// Where the devices' failed host calls are reported; they may stop the machine.
    let faults: HostFaults
    /// Run once every vCPU thread has left KVM_RUN (see `DeviceFlush`).
    let flushes: [DeviceFlush]
    /// What was loaded where, for messages.
    public let bootSummary: String
    /// The disks: their devices, images and services (I/O threads, flushes).
    let disks: [Disk]
    /// The devices the guest's ACPI tables describe.
    public let platform: ACPIPlatform
    /// Tracing, statistics and console checks, as asked for.
    let instrumentation: Instrumentation
    /// One per vCPU when exits are traced or counted; empty otherwise.
    let monitors: [VCPUMonitor]
    /// The console output, watched, when the instrumentation needs it.
    let consoleWatch: ConsoleWatch?
    /// When `build` finished.
    let builtAt: UInt64
    /// The virtio-vsock device and its host side, if the machine has one.
    let vsock: VsockService?
    /// The services of the network and entropy devices (their I/O threads).
    let peripherals: [VirtioService]

    private init(
        configuration: MachineConfiguration, vm: VirtualMachine, memory: GuestMemory,
        threads: [VCPUThread], handler: ExitHandler, uart: DeviceSlot<Serial8250>,
        keyboardController: DeviceSlot<I8042>, console: Console, faults: HostFaults,
        flushes: [DeviceFlush], bootSummary: String, disks: [Disk], vsock: VsockService?,
        peripherals: [VirtioService], platform: ACPIPlatform, instrumentation: Instrumentation,
        monitors: [VCPUMonitor], consoleWatch: ConsoleWatch?
    ) {
        self.configuration = configuration
        self.vm = vm
        self.memory = memory
        self.threads = threads
        self.handler = handler
        self.uart = uart
        self.keyboardController = keyboardController
        self.console = console
        self.faults = faults
        self.flushes = flushes
        self.bootSummary = bootSummary
        self.disks = disks
        self.vsock = vsock
        self.peripherals = peripherals
        self.platform = platform
        self.instrumentation = instrumentation
        self.monitors = monitors
        self.consoleWatch = consoleWatch
        self.builtAt = MonotonicClock.now()
        faults.whenStopping { [weak self] reason in self?.stop(reason) }
    }

    /// Builds a machine from `configuration`, with its serial console on `console`, and
    /// the tracing, statistics and console checks `instrumentation` asks for. Warnings of
    /// the running machine (`MachineReport.warnings`) are also written to `warnings`.
    public static func build(
        _ configuration: MachineConfiguration, console: Console,
        instrumentation: Instrumentation = Instrumentation(), kvmPath: String = KVMSystem.defaultPath,
        warnings: (any ByteSink)? = nil
    ) throws(MachineError) -> Machine {
        try build(configuration, console: console, instrumentation: instrumentation, kvmPath: kvmPath,
                  warnings: warnings, extraFlushes: [])
    }

    /// `build`, with flushes to run after the machine's own (tests watch the order), and
    /// each disk image behind `diskBackend` (tests inject host I/O errors there).
    static func build(
        _ configuration: MachineConfiguration, console: Console, instrumentation: Instrumentation = Instrumentation(),
        kvmPath: String, warnings: (any ByteSink)? = nil, extraFlushes: [DeviceFlush],
        diskBackend: (RawDiskImage) -> any BlockBackend = { $0 }
    ) throws(MachineError) -> Machine {
        // 1. User inputs first: nothing touches KVM until they are known to be good.
        let (kernelName, kernelBytes) = try loadKernel(configuration.kernel, ramSize: configuration.memorySize)
        var initrd: (path: String, fd: Int32, size: UInt64)? = nil
        if let path = configuration.initrdPath {
            do {
                let (fd, info) = try HostFile.open(path, role: "initrd")
                initrd = (path, fd, UInt64(info.st_size))
            } catch {
                throw .file(error)
            }
        }
        defer { if let initrd { close(initrd.fd) } }
        try checkMemorySize(configuration.memorySize)
        // Every virtio device's place, which the ACPI tables and (for virtio-mmio) the
        // command line announce: the disks, the vsock device, the network devices, then
        // the entropy device. Then the disks' images, opened and locked, the vsock socket,
        // bound, and the network devices' backends: taps attached, passt started.
        let placement: VirtioPlacement
        do {
            if configuration.vsock != nil { try VsockService.checkRoom(beside: configuration.disks) }
            let vsockTransports = configuration.vsock == nil ? [] : [VsockService.transport]
            placement = try VirtioPlacement.place(
                configuration.disks.map(\.transport) + vsockTransports + configuration.networks.map(\.transport)
                    + (configuration.rng.map { [$0.transport] } ?? []),
                firstMMIOSlot: instrumentation.bootTimer == nil ? 0 : 1)
        } catch {
            throw .configuration(error)
        }
        let disks = try VirtioDisks.prepare(configuration.disks)
        let vsock = try configuration.vsock.map { (vsock) throws(MachineError) in try VsockService(vsock) }
        let networks = try VirtioNetworks.prepare(configuration.networks, tunPath: configuration.tunControlPath)
        let commandLine = ([configuration.commandLine] + placement.commandLineOptions).joined(separator: " ")

        let plan: BootPlan
        do {
            plan = try BootPlan.plan(
                kernel: kernelBytes, initrdSize: initrd?.size,
                commandLine: commandLine, ramSize: configuration.memorySize,
                vcpuCount: configuration.vcpuCount, platform: placement.acpiPlatform)
        } catch {
            throw .boot(error, kernel: kernelName, initrd: initrd?.path)
        }

        // 2. The host's KVM.
        let system: KVMSystem
        let vm: VirtualMachine
        do {
            system = try KVMSystem(path: kvmPath)
            try system.requireCapabilities()
        } catch {
            throw .host(error)
        }
        guard (1...system.maximumVCPUs).contains(configuration.vcpuCount) else {
            throw .configuration(.vcpuCount(configuration.vcpuCount, maximum: system.maximumVCPUs))
        }
        do {
            vm = try system.createVM()
            try vm.setIdentityMapAddress(Layout.kvmIdentityMap.rawValue)
            try vm.setTSSAddress(Layout.kvmTSS.rawValue)
        } catch {
            throw .host(error)
        }

        // 3. Guest RAM, registered with KVM before the in-kernel interrupt controllers are
        // made, then the kernel, boot data and initrd put in it. Installing a memory slot
        // waits for a grace period of the VM's SRCU (virt/kvm/kvm_main.c,
        // kvm_swap_active_memslots); right after the irqchip and PIT have put their devices
        // on KVM's buses, that wait took 4 to 11 ms on the project's machines (Linux 6.18),
        // and 0.1 ms before them; Linux 6.1's KVM waits in neither order
        // (benchmarks/slotwait.c; docs/PERFORMANCE.md, "Start-up, a fourth time").
        // Firecracker's builder keeps the same order.
        let memory: GuestMemory
        do {
            memory = try GuestMemory(size: configuration.memorySize)
        } catch {
            throw .guestRAM(error)
        }
        do {
            for (slot, region) in memory.regions.enumerated() {
                try vm.setUserMemoryRegion(
                    slot: UInt32(slot), guestAddress: region.start.rawValue,
                    size: region.size, hostAddress: memory.hostAddress(of: region))
            }
            try vm.createIRQChip()
            try LegacyPIC.initialize(vm)
            try vm.createPIT2()
        } catch {
            throw .host(error)
        }
        do {
            try plan.apply(to: memory)
        } catch {
            throw .guestRAM(error)
        }
        if let initrd, let placement = plan.initrd {
            do {
                try HostFile.read(initrd.fd, count: initrd.size, into: memory, at: placement.address, role: "initrd", path: initrd.path)
            } catch {
                throw .file(error)
            }
        }

        // 4. Devices. With instrumentation, the console output is watched on its way out.
        let tracer = instrumentation.tracer
        let consoleWatch = instrumentation.watchesConsole ? ConsoleWatch(
            output: console.output, readyMarker: instrumentation.readyMarker,
            expectedOutput: instrumentation.expectedOutput) : nil
        let faults = HostFaults(output: warnings)
        var portBus = IOBus(), mmioBus = IOBus()
        let legacy: LegacyPorts.Installed
        let installedDisks: [Disk]
        let peripheralServices: [VirtioService]
        do {
            legacy = try LegacyPorts.install(
                on: &portBus, serialOutput: consoleWatch ?? console.output,
                serialInterrupt: KVMInterruptLine(vm: vm, irq: LegacyPorts.com1IRQ, device: "com1", faults: faults),
                keyboardInterrupt: KVMInterruptLine(vm: vm, irq: LegacyPorts.keyboardIRQ, device: "i8042", faults: faults))
            if let report = instrumentation.bootTimer {
                let origin = instrumentation.origin
                _ = try mmioBus.register(
                    BootTimer { report(MonotonicClock.now() - origin, MonotonicClock.processCPUTime()) },
                    at: IOBus.Range(base: Layout.bootTimer.rawValue, length: Layout.pageSize))
            }
            // Every virtio device in one installation: the PCI bus holds them all.
            var places = placement.places[...]
            let pendingDisks = disks.devices(
                at: places.prefix(disks.images.count), backend: diskBackend, tracer: tracer,
                counting: instrumentation.collectsStatistics)
            places = places.dropFirst(disks.images.count)
            let pendingVsock = vsock.map { [$0.installation(at: places.removeFirst())] } ?? []
            let monitor = PeripheralMonitor(tracer: tracer, faults: faults)
            let peripherals = networks.devices(at: places.prefix(networks.backends.count), monitor: monitor)
                + zip(configuration.rng.map { [$0] } ?? [], places.dropFirst(networks.backends.count)).map {
                    VirtioEntropy.device($0, at: $1, monitor: monitor)
                }
            let services = try VirtioDevices.install(
                pendingDisks.map(\.installation) + pendingVsock + peripherals, vm: vm, memory: memory, faults: faults,
                portBus: &portBus, mmioBus: &mmioBus)
            installedDisks = zip(pendingDisks, services).map { $0.installed($1) }
            vsock?.installed(services[pendingDisks.count], faults: faults)
            peripheralServices = Array(services.dropFirst(pendingDisks.count + pendingVsock.count))
        } catch let error as KVMError {
            throw .host(error)
        } catch let error as IOBus.OverlapError {
            throw .devicePlacement(error)
        } catch {
            preconditionFailure("devices are placed on buses and wired through KVM only: \(error)")
        }
        let handler = ExitHandler(portBus: portBus, mmioBus: mmioBus)
        // Devices that hold guest data until it is written out (the disks) flush when
        // the machine stops; vsock stops; the network and entropy devices stop serving (no
        // frame moves after), then passt stops.
        let flushes = installedDisks.map { disk in
            DeviceFlush(device: "disk \(disk.path)") { try disk.stopAndFlush() }
        } + (vsock.map { vsock in [DeviceFlush(device: "vsock \(vsock.configuration.udsPath)") { vsock.stop() }] } ?? [])
            + (peripheralServices.isEmpty ? [] : [DeviceFlush(device: "network and entropy devices") {
                for service in peripheralServices { service.stop() }
                networks.stopBackends()
            }]) + extraFlushes

        // 5. vCPUs: the boot processor starts at the kernel's entry; the others wait in
        // KVM_RUN for the INIT and start-up IPIs the guest sends them.
        var threads: [VCPUThread] = []
        do {
            let cpuid = try CPUID.Host.query(system)
            for id in 0..<configuration.vcpuCount {
                let vcpu = try vm.createVCPU(id: id)
                try CPUSetup.configure(
                    vcpu, count: configuration.vcpuCount, cpuid: cpuid,
                    boot: id == 0 ? plan.cpu : nil)
                threads.append(VCPUThread(vcpu: vcpu))
            }
        } catch {
            throw .host(error)
        }

        let monitored = instrumentation.collectsStatistics || tracer?.categories.tracesExits == true
        let monitors = monitored ? threads.map {
            VCPUMonitor(vcpu: $0.vcpu.id, tracer: tracer, countsExits: instrumentation.collectsStatistics)
        } : []

        return Machine(
            configuration: configuration, vm: vm, memory: memory, threads: threads,
            handler: handler, uart: legacy.serial, keyboardController: legacy.keyboardController,
            console: console, faults: faults, flushes: flushes, bootSummary: "\(kernelName): \(plan.summary)",
            disks: installedDisks, vsock: vsock, peripherals: peripheralServices, platform: placement.acpiPlatform, instrumentation: instrumentation,
            monitors: monitors, consoleWatch: consoleWatch)
    }

    // MARK: Building blocks

    /// The kernel's bytes; a file larger than the guest's RAM cannot be booted and is
    /// refused before it is read.
    private static func loadKernel(_ kernel: MachineConfiguration.Kernel, ramSize: UInt64) throws(MachineError) -> (String, [UInt8]) {
        switch kernel {
        case .demo: return ("demo guest", DemoGuest.image)
        case .file(let path):
            do {
                return ("kernel \(path)", try HostFile.readAll(path, role: "kernel", limit: ramSize))
            } catch {
                throw .file(error)
            }
        }
    }

    private static func checkMemorySize(_ size: UInt64) throws(MachineError) {
        guard size >= MachineConfiguration.minimumMemorySize else {
            throw .configuration(.memoryTooSmall(size: size, minimum: MachineConfiguration.minimumMemorySize))
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        if pages > 0, pageSize > 0 {
            let hostRAM = UInt64(pages) * UInt64(pageSize)
            guard size <= hostRAM else {
                throw .configuration(.memoryAboveHost(size: size, host: hostRAM))
            }
        }
    }
}
