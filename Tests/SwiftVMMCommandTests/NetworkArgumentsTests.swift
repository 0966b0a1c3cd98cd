import Testing
import Virtio
import VMM
@testable import SwiftVMMCommand

@Suite("Command-line parsing: --net and --rng")
struct NetworkArgumentsTests {
    @Test("--net is repeatable: a tap with its MAC, transport and offloads; user networking with its forwards")
    func networks() throws {
        let command = try Arguments.parse([
            "run", "--net", "tap=tap0,mac=52:54:00:12:34:56,transport=mmio,offload=off",
            "--net=user,hostfwd=tcp:8080-:80,hostfwd=udp:5353-:53",
        ])
        var expected = MachineConfiguration()
        expected.networks = [
            NetworkConfiguration(backend: .tap("tap0"), mac: MACAddress("52:54:00:12:34:56"), transport: .mmio, offloads: false),
            NetworkConfiguration(backend: .user(forwards: [
                .init(proto: .tcp, hostPort: 8080, guestPort: 80), .init(proto: .udp, hostPort: 5353, guestPort: 53),
            ])),
        ]
        #expect(command == .run(expected))
    }

    @Test("--rng alone is an entropy device on PCI at the default rate; its value may set the transport and the rate")
    func rng() throws {
        var expected = MachineConfiguration()
        expected.rng = RNGConfiguration()
        #expect(try Arguments.parse(["run", "--rng"]) == .run(expected))
        #expect(try Arguments.parse(["run", "--rng", "--cpus", "1"]) == .run(expected))
        expected.rng = RNGConfiguration(transport: .mmio, rate: 4096)
        #expect(try Arguments.parse(["run", "--rng", "transport=mmio,rate=4096"]) == .run(expected))
    }

    @Test("a stable MAC per device: the same backend and place give the same address every run; a given one wins")
    func stableAddresses() {
        let tap = NetworkConfiguration(backend: .tap("tap0"))
        #expect(tap.address(index: 0) == NetworkConfiguration(backend: .tap("tap0")).address(index: 0))
        #expect(tap.address(index: 0) != tap.address(index: 1))
        #expect(tap.address(index: 0) != NetworkConfiguration(backend: .tap("tap1")).address(index: 0))
        let given = MACAddress("52:54:00:00:00:01")!
        #expect(NetworkConfiguration(backend: .user(forwards: []), mac: given).address(index: 3) == given)
    }
}
