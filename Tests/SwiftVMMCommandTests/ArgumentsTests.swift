import Testing
import VMM
@testable import SwiftVMMCommand

@Suite("Command-line parsing")
struct ArgumentsTests {
    @Test("run with every flag fills the configuration; --flag=value works too")
    func runFlags() throws {
        let command = try Arguments.parse([
            "run", "--kernel", "/k", "--initrd=/i", "--cmdline", "console=ttyS0 quiet",
            "--memory", "2G", "--cpus", "1",
        ])
        #expect(command == .run(MachineConfiguration(
            kernel: .file("/k"), initrdPath: "/i", commandLine: "console=ttyS0 quiet",
            memorySize: 2 << 30, vcpuCount: 1)))
    }

    @Test("--cpus takes any count from 1 up; the host's KVM limit is the machine's to check")
    func cpus() throws {
        #expect(try Arguments.parse(["run", "--cpus", "4"]) == .run(MachineConfiguration(vcpuCount: 4)))
        #expect(try Arguments.parse(["run", "--cpus=1024"]) == .run(MachineConfiguration(vcpuCount: 1024)))
    }

    @Test("--disk is repeatable; readonly, transport and io options fill each disk")
    func disks() throws {
        let command = try Arguments.parse([
            "run", "--disk", "a.img", "--disk=b.img,readonly=on,transport=mmio", "--disk", "c.img,io=vcpu,readonly=off,transport=pci",
        ])
        #expect(command == .run(MachineConfiguration(disks: [
            DiskConfiguration(path: "a.img"),
            DiskConfiguration(path: "b.img", readOnly: true, transport: .mmio),
            DiskConfiguration(path: "c.img", readOnly: false, transport: .pci, io: .vcpu),
        ])))
        #expect(DiskConfiguration(path: "x").transport == .pci)
        #expect(DiskConfiguration(path: "x").io == DiskConfiguration.defaultIOMode)
    }

    @Test("run with no kernel boots the demo guest with the defaults")
    func demo() throws {
        #expect(try Arguments.parse(["run"]) == .run(MachineConfiguration()))
    }

    @Test("no arguments, --help, -h and help print the help; --version the version")
    func helpAndVersion() throws {
        for arguments in [[], ["--help"], ["-h"], ["help"], ["run", "--help"]] {
            #expect(try Arguments.parse(arguments) == .help)
        }
        #expect(try Arguments.parse(["--version"]) == .version)
        #expect(try Arguments.parse(["host"]) == .host())
        #expect(try Arguments.parse(["host", "--cpuid"]) == .host(cpuidVCPUs: 1))
        #expect(try Arguments.parse(["host", "--cpuid", "--cpus", "4"]) == .host(cpuidVCPUs: 4))
    }

    @Test("bad arguments are usage errors that name the argument")
    func usageErrors() {
        let cases: [([String], String)] = [
            (["frobnicate"], "unknown command 'frobnicate'"),
            (["run", "--kernal", "x"], "unknown option '--kernal'"),
            (["run", "--kernel"], "--kernel needs a value"),
            (["run", "--memory", "lots"], "--memory 'lots': not a size"),
            (["run", "--memory", "0"], "--memory '0': the size must be more than zero"),
            (["run", "--cpus", "0"], "--cpus '0': not a whole number of at least 1"),
            (["run", "--cpus", "two"], "--cpus 'two'"),
            (["run", "--kernel", "a", "--kernel", "b"], "--kernel is given more than once"),
            (["host", "extra"], "unknown option 'extra' for 'host'; it takes --cpuid and --cpus N"),
            (["host", "--cpus", "2"], "host: --cpus goes with --cpuid"),
            (["host", "--cpuid", "--cpus"], "--cpus needs a value"),
            (["run", "--disk"], "--disk needs a value"),
            (["run", "--disk", ""], "--disk '': needs a path first"),
            (["run", "--disk", ",readonly=on"], "--disk ',readonly=on': needs a path first"),
            (["run", "--disk", "a.img,readonly"], "--disk 'a.img,readonly': 'readonly' is not key=value"),
            (["run", "--disk", "a.img,readonly=yes"], "--disk 'a.img,readonly=yes': readonly=yes: readonly is on or off"),
            (["run", "--disk", "a.img,transport=usb"], "transport=usb: transport is pci or mmio"),
            (["run", "--disk", "a.img,io=fast"], "io=fast: io is thread or vcpu"),
            (["run", "--disk", "a.img,cache=none"], "unknown option 'cache'; the options are readonly, transport and io"),
            (["run", "--disk", "a.img,readonly=on,readonly=off"], "'readonly' is given more than once"),
        ]
        for (arguments, message) in cases {
            #expect(throws: UsageError.self, "\(arguments)") { try Arguments.parse(arguments) }
            do {
                _ = try Arguments.parse(arguments)
            } catch {
                #expect(error.message.contains(message), "\(arguments): \(error.message)")
            }
        }
    }
}

@Suite("Memory sizes")
struct MemorySizeTests {
    @Test("512M, 2G, plain MiB and the IEC spellings parse to bytes")
    func valid() throws {
        #expect(try MemorySize.parse("512M") == 512 << 20)
        #expect(try MemorySize.parse("512MiB") == 512 << 20)
        #expect(try MemorySize.parse("2G") == 2 << 30)
        #expect(try MemorySize.parse("2g") == 2 << 30)
        #expect(try MemorySize.parse("3GiB") == 3 << 30)
        #expect(try MemorySize.parse("128") == 128 << 20)
    }

    @Test("empty, signed, fractional, unknown-suffix, zero and huge sizes are refused")
    func invalid() {
        for text in ["", "M", "-1", "1.5G", "12T", "12K", "0x10", " 1", "1 G"] {
            #expect(throws: MemorySize.ParseError.notASize(text)) { try MemorySize.parse(text) }
        }
        #expect(throws: MemorySize.ParseError.zero("0G")) { try MemorySize.parse("0G") }
        #expect(throws: MemorySize.ParseError.tooLarge("99999999999999999999")) {
            try MemorySize.parse("99999999999999999999")
        }
        #expect(throws: MemorySize.ParseError.tooLarge("2000G")) { try MemorySize.parse("2000G") }
        #expect(MemorySize.ParseError.tooLarge("2000G").description == "--memory '2000G': too large; SwiftVMM gives a guest at most 1024G")
    }

    @Test("--vsock cid=N,uds=PATH fills the configuration's vsock device")
    func vsock() throws {
        let command = try Arguments.parse(["run", "--vsock", "cid=42,uds=/tmp/v.sock"])
        guard case .run(let configuration, _) = command else { Issue.record("not a run"); return }
        #expect(configuration.vsock == VsockConfiguration(guestCID: 42, udsPath: "/tmp/v.sock"))
    }

    @Test("'firecracker' hands every argument after it to Firecracker's front end, as argv[0] firecracker does")
    func firecracker() throws {
        #expect(try Arguments.parse(["firecracker", "--api-sock", "/s", "--run"]) == .firecracker(["--api-sock", "/s", "--run"]))
        #expect(SwiftVMMCommand.arguments(programName: "/usr/local/bin/firecracker", ["--api-sock", "/s"]) == ["firecracker", "--api-sock", "/s"])
        #expect(SwiftVMMCommand.arguments(programName: "./swiftvmm", ["run"]) == ["run"])
    }
}
