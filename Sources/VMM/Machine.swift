import Boot
import Devices
import Dispatch
import GuestMemory
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
    let console: Console
    let lifecycle = Lifecycle()
    /// Where vCPUs wait while the machine is paused (`Machine+Control`).
    let pauseGate = PauseGate()
    /// Run once every vCPU thread has left KVM_RUN (see `DeviceFlush`).
    let flushes: [DeviceFlush]
    /// What was loaded where, for messages.
    public let bootSummary: String
    /// The disks' services (I/O threads, flushes).
    let disks: [DiskService]
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
    /// The host side of the virtio-vsock device, if the machine has one.
    let vsock: VsockService?

    private init(
        configuration: MachineConfiguration, vm: VirtualMachine, memory: GuestMemory,
        threads: [VCPUThread], handler: ExitHandler, uart: DeviceSlot<Serial8250>,
        console: Console, flushes: [DeviceFlush], bootSummary: String,
        disks: [DiskService], platform: ACPIPlatform, instrumentation: Instrumentation,
        monitors: [VCPUMonitor], consoleWatch: ConsoleWatch?, vsock: VsockService?
    ) {
        self.configuration = configuration
        self.vm = vm
        self.memory = memory
        self.threads = threads
        self.handler = handler
        self.uart = uart
        self.console = console
        self.flushes = flushes
        self.bootSummary = bootSummary
        self.disks = disks
        self.platform = platform
        self.instrumentation = instrumentation
        self.monitors = monitors
        self.consoleWatch = consoleWatch
        self.vsock = vsock
        self.builtAt = MonotonicClock.now()
    }

    /// Builds a machine from `configuration`, with its serial console on `console`, and
    /// the tracing, statistics and console checks `instrumentation` asks for.
    public static func build(
        _ configuration: MachineConfiguration, console: Console,
        instrumentation: Instrumentation = Instrumentation(), kvmPath: String = KVMSystem.defaultPath
    ) throws(MachineError) -> Machine {
        try build(configuration, console: console, instrumentation: instrumentation, kvmPath: kvmPath, extraFlushes: [])
    }

    /// `build`, with flushes to run after the machine's own (tests watch the order), and
    /// each disk image behind `diskBackend` (tests inject host I/O errors there).
    static func build(
        _ configuration: MachineConfiguration, console: Console, instrumentation: Instrumentation = Instrumentation(),
        kvmPath: String, extraFlushes: [DeviceFlush], diskBackend: (RawDiskImage) -> any BlockBackend = { $0 }
    ) throws(MachineError) -> Machine {
        // 1. User inputs first: nothing touches KVM until they are known to be good.
        let (kernelName, kernelBytes) = try loadKernel(configuration.kernel, ramSize: configuration.memorySize)
        var initrd: (path: String, fd: Int32, size: UInt64)? = nil
        if let path = configuration.initrdPath {
            let (fd, info) = try HostFile.open(path, role: "initrd")
            initrd = (path, fd, UInt64(info.st_size))
        }
        defer { if let initrd { close(initrd.fd) } }
        try checkMemorySize(configuration.memorySize)
        // Disks: images opened and locked, places chosen; virtio-mmio ones announced on
        // the command line.
        let disks = try VirtioDisks.prepare(configuration.disks)
        let commandLine = ([configuration.commandLine] + disks.commandLineOptions).joined(separator: " ")
        // The vsock device's socket is bound now: a path in use is the user's input.
        let vsockPlacement = try configuration.vsock.map { _ throws(MachineError) in try VsockPlacement(after: disks) }
        let vsock = try configuration.vsock.map { (vsock: VsockConfiguration) throws(MachineError) in try VsockService(vsock) }
        let acpiPlatform = disks.acpiPlatform(adding: vsockPlacement)

        let plan: BootPlan
        do {
            plan = try BootPlan.plan(
                kernel: kernelBytes, initrdSize: initrd?.size,
                commandLine: commandLine, ramSize: configuration.memorySize,
                vcpuCount: configuration.vcpuCount, platform: acpiPlatform)
        } catch {
            throw .badInput(describe(error, kernel: kernelName, initrd: initrd?.path))
        }

        // 2. The host's KVM.
        let system: KVMSystem
        let vm: VirtualMachine
        do {
            system = try KVMSystem(path: kvmPath)
            try system.requireCapabilities()
            guard (1...system.maximumVCPUs).contains(configuration.vcpuCount) else {
                throw MachineError.badInput(
                    "--cpus \(configuration.vcpuCount): this host allows 1 to \(system.maximumVCPUs) vCPUs")
            }
            vm = try system.createVM()
            try vm.setIdentityMapAddress(Layout.kvmIdentityMap.rawValue)
            try vm.setTSSAddress(Layout.kvmTSS.rawValue)
            try vm.createIRQChip()
            try LegacyPIC.initialize(vm)
            try vm.createPIT2()
        } catch let error as KVMError {
            throw .host(error)
        } catch let error as MachineError {
            throw error
        } catch {
            throw .setup("\(error)")
        }

        // 3. Guest RAM, registered with KVM, with the kernel, boot data and initrd in it.
        let memory: GuestMemory
        do {
            memory = try GuestMemory(size: configuration.memorySize)
            for (slot, region) in memory.regions.enumerated() {
                try vm.setUserMemoryRegion(
                    slot: UInt32(slot), guestAddress: region.start.rawValue,
                    size: region.size, hostAddress: memory.hostAddress(of: region))
            }
            try plan.apply(to: memory)
        } catch let error as KVMError {
            throw .host(error)
        } catch {
            throw .setup("cannot set up \(configuration.memorySize >> 20) MiB of guest RAM: \(error)")
        }
        if let initrd, let placement = plan.initrd {
            try loadInitrd(fd: initrd.fd, path: initrd.path, at: placement.address, size: initrd.size, into: memory)
        }

        // 4. Devices. With instrumentation, the console output is watched on its way out.
        let tracer = instrumentation.tracer
        let consoleWatch = instrumentation.watchesConsole ? ConsoleWatch(
            output: console.output, readyMarker: instrumentation.readyMarker,
            expectedOutput: instrumentation.expectedOutput) : nil
        var portBus = IOBus(), mmioBus = IOBus()
        let uart: DeviceSlot<Serial8250>
        let diskServices: [DiskService]
        do {
            uart = try LegacyPorts.install(
                on: &portBus, serialOutput: consoleWatch ?? console.output,
                serialInterrupt: KVMInterruptLine(vm: vm, irq: UInt32(LegacyPorts.com1IRQ)))
            let vsockFunction = vsock.flatMap { service in vsockPlacement.map { $0.function(service, vm: vm, memory: memory) } }
            diskServices = try disks.install(
                vm: vm, memory: memory, portBus: &portBus, mmioBus: &mmioBus, backend: diskBackend,
                tracer: tracer, counting: instrumentation.collectsStatistics,
                otherFunctions: vsockFunction.map { [vsockPlacement!.device: $0.0] } ?? [:])
            if let vsock, let vsockFunction { vsock.connect(deliver: vsockFunction.deliver) }
        } catch let error as KVMError {
            throw .host(error)
        } catch {
            throw .setup("cannot place devices: \(error)")
        }
        let handler = ExitHandler(portBus: portBus, mmioBus: mmioBus)
        // Devices that hold guest data until it is written out (the disks) flush when
        // the machine stops.
        let flushes = diskServices.map { disk in
            DeviceFlush(device: "disk \(disk.path)") { try disk.stopAndFlush() }
        } + (vsock.map { service in [DeviceFlush(device: "vsock \(service.configuration.udsPath)") { service.stop() }] } ?? [])
            + extraFlushes

        // 5. vCPUs: the boot processor starts at the kernel's entry; the others wait in
        // KVM_RUN for the INIT and start-up IPIs the guest sends them.
        var threads: [VCPUThread] = []
        do {
            let supportedCPUID = try system.supportedCPUID()
            for id in 0..<configuration.vcpuCount {
                let vcpu = try vm.createVCPU(id: id)
                try CPUSetup.configure(
                    vcpu, count: configuration.vcpuCount, supportedCPUID: supportedCPUID,
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
            handler: handler, uart: uart, console: console, flushes: flushes,
            bootSummary: "\(kernelName): \(plan.summary)",
            disks: diskServices, platform: acpiPlatform, instrumentation: instrumentation,
            monitors: monitors, consoleWatch: consoleWatch, vsock: vsock)
    }

    // MARK: Running

    /// Runs the machine until it stops, and reports why. Blocks the calling thread;
    /// returns only after every vCPU thread has left KVM_RUN and every device has
    /// flushed. The first stop, from any vCPU or any other thread, stops every vCPU.
    public func run() -> MachineReport {
        VCPUThread.installKickHandler()
        lifecycle.start()
        vsock?.start()
        consoleWatch?.whenExpectedOutputAppears { [weak self] in self?.stop(.expectedOutput) }
        let timer = instrumentation.timeout.map { seconds in
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "swiftvmm.timeout"))
            timer.schedule(deadline: .now() + seconds)
            timer.setEventHandler { [weak self] in self?.stop(.timedOut) }
            timer.resume()
            return timer
        }
        let group = DispatchGroup()
        for thread in threads {
            let monitor = monitors.isEmpty ? nil : monitors[thread.vcpu.id]
            thread.start(group: group) { [self] vcpu in
                if let monitor {
                    monitor.loopStarted()
                    runLoop(vcpu) { [handler] vcpu in try monitor.step(vcpu, handler: handler) }
                    monitor.loopEnded()
                } else {
                    runLoop(vcpu) { [handler] vcpu in
                        let exit = try vcpu.run()
                        return handler.handle(exit, vcpu: vcpu.id, data: vcpu)
                    }
                }
            }
        }
        console.startInput(
            into: uart, isRunning: { [lifecycle] in lifecycle.isRunning },
            onCommand: { [weak self] command in if command == .quit { self?.stop(.userQuit) } })
        group.wait()
        // The vCPU blocks are let go of on their worker threads a moment after the group
        // is left; waiting for that makes whoever holds the machine last (the caller)
        // close the VM, in order, instead of a worker thread at some later moment (under
        // LeakSanitizer, at exit, that deadlocked against its stopped threads).
        for thread in threads { thread.waitUntilReleased() }
        timer?.cancel()
        // Every vCPU thread is out of KVM_RUN: no guest request can reach a device now.
        let flushErrors = DeviceFlush.runAll(flushes)
        let reason = lifecycle.finishStopping()
        let stoppedAt = MonotonicClock.now()
        instrumentation.traceWriter?.flush()
        return MachineReport(
            reason: reason,
            flushErrors: flushErrors,
            unknownPortAccesses: handler.counters.unknownPortAccesses,
            firstUnknownPort: handler.counters.firstUnknownPortNumber,
            unknownMMIOAccesses: handler.counters.unknownMMIOAccesses,
            statistics: instrumentation.collectsStatistics ? statistics(stoppedAt: stoppedAt) : nil,
            lastConsoleLines: consoleWatch?.lastLines ?? [],
            sawExpectedOutput: consoleWatch?.sawExpectedOutput ?? false)
    }

    /// Stops every vCPU. Safe from any thread (a vCPU, a signal handler's queue, the
    /// console); the first reason given is the one reported.
    public func stop(_ reason: StopReason) {
        guard lifecycle.beginStopping(reason) else { return }
        // A vCPU blocked writing the console (stdout a stalled pipe) must not hold the
        // stop up: the kick interrupts the write, and the output gives up.
        (console.output as? any StoppableSink)?.stopWaiting()
        for thread in threads { thread.kick() }
        // vCPUs parked by a pause go on to see the stop.
        pauseGate.open()
    }

    /// A vCPU's loop: `step` (KVM_RUN, then handle the exit), repeat until the machine
    /// stops.
    ///
    /// `run()` chooses `step` once per vCPU: with tracing and statistics off, it is KVM_RUN
    /// and `ExitHandler.handle` alone, and the compiler makes a copy of this loop for it
    /// with no clock read, no lock, no formatting and not even a test of whether tracing
    /// is on. A `VCPUMonitor`'s step times, counts and traces around the same two calls.
    ///
    /// `step` throws untyped: with `throws(KVMError)`, the debug build leaked the
    /// `ExitAction` the closure returned (LeakSanitizer found the `VCPUExit` data of an
    /// emulation failure), and untyped costs nothing here but on the error path.
    private func runLoop(_ vcpu: VCPU, step: (VCPU) throws -> ExitAction) {
        while lifecycle.isRunning {
            let action: ExitAction
            do {
                action = try step(vcpu)
            } catch {
                stop(.vcpuFailure(vcpu: vcpu.id, message: "\(error)"))
                return
            }
            switch action {
            case .resume:
                continue
            case .checkState:
                // A kick: the machine is stopping (the loop's test ends it) or pausing.
                pauseGate.parkIfClosed()
                continue
            case .stop(let reason):
                stop(reason.withInstructionPointer(of: vcpu))
                return
            }
        }
    }

    // MARK: Building blocks

    /// The kernel's bytes; a file larger than the guest's RAM cannot be booted and is
    /// refused before it is read.
    private static func loadKernel(_ kernel: MachineConfiguration.Kernel, ramSize: UInt64) throws(MachineError) -> (String, [UInt8]) {
        switch kernel {
        case .demo: return ("demo guest", DemoGuest.image)
        case .file(let path): return ("kernel \(path)", try HostFile.readAll(path, role: "kernel", limit: ramSize))
        }
    }

    private static func checkMemorySize(_ size: UInt64) throws(MachineError) {
        guard size >= MachineConfiguration.minimumMemorySize else {
            throw .badInput("--memory \(size >> 20)M: at least \(MachineConfiguration.minimumMemorySize >> 20) MiB is needed")
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        if pages > 0, pageSize > 0 {
            let hostRAM = UInt64(pages) * UInt64(pageSize)
            guard size <= hostRAM else {
                throw .badInput("--memory \(size >> 20)M: more than this host's \(hostRAM >> 20) MiB of RAM")
            }
        }
    }

    private static func loadInitrd(
        fd: Int32, path: String, at address: GuestAddress, size: UInt64, into memory: GuestMemory
    ) throws(MachineError) {
        var done: UInt64 = 0
        while done < size {
            let chunk = Int(min(size - done, 16 << 20))
            let count: Int
            do {
                count = try memory.read(fromFileDescriptor: fd, into: GuestAddress(address.rawValue + done), count: chunk)
            } catch {
                throw .badInput("initrd \(path): does not fit in guest RAM: \(error)")
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .badInput("initrd \(path): short read (file changed while loading?)") }
            done += UInt64(count)
        }
    }

    private static func describe(_ error: any Error, kernel: String, initrd: String?) -> String {
        if let error = error as? BootError, error.concernsMachine { return "\(error)" }
        if let error = error as? BootError, error.concernsInitrd, let initrd {
            return "initrd \(initrd): \(error)"
        }
        return "\(kernel): \(error)"
    }
}

/// How a run ended, for the CLI's exit status and messages.
public struct MachineReport: Sendable {
    /// Why the machine stopped (the first stop wins).
    public let reason: StopReason
    /// One message per device whose flush failed after the vCPUs stopped.
    public let flushErrors: [String]
    /// Port accesses no device answered (reads returned all ones).
    public let unknownPortAccesses: Int
    /// The first such port, for the message.
    public let firstUnknownPort: UInt16?
    /// MMIO accesses no device answered.
    public let unknownMMIOAccesses: Int
    /// The statistics, when `Instrumentation.collectsStatistics` asked for them.
    public let statistics: MachineStatistics?
    /// The console's last lines, when the console was watched (`ConsoleWatch`).
    public let lastConsoleLines: [String]
    /// Whether `Instrumentation.expectedOutput` appeared on the console.
    public let sawExpectedOutput: Bool
}

/// An IRQ line of the in-kernel interrupt controllers, driven with KVM_IRQ_LINE.
struct KVMInterruptLine: InterruptLine {
    let vm: VirtualMachine
    let irq: UInt32

    func setLevel(_ high: Bool) {
        // KVM_IRQ_LINE only fails for an IRQ number outside the irqchip; ours are fixed
        // and valid, so a failure here would be a bug, not something a guest can cause.
        try? vm.setIRQLine(irq, high: high)
    }
}

extension StopReason {
    /// Fills in the vCPU's RIP for stops that report where the guest was.
    func withInstructionPointer(of vcpu: VCPU) -> StopReason {
        let rip = try? vcpu.getRegisters().rip
        switch self {
        case .tripleFault(let id, nil): return .tripleFault(vcpu: id, rip: rip)
        case .internalError(let id, nil, let error): return .internalError(vcpu: id, rip: rip, error: error)
        case .failedEntry(let id, nil, let reason): return .failedEntry(vcpu: id, rip: rip, hardwareReason: reason)
        default: return self
        }
    }
}
