import Virtio
import VMM

extension Arguments {
    /// `tap=NAME[,mac=MAC][,transport=pci|mmio][,offload=on|off]` or
    /// `user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]...[,mac=MAC][,transport=pci|mmio]`.
    static func parseNet(_ value: String) throws(UsageError) -> NetworkConfiguration {
        func fail(_ why: String) -> UsageError { UsageError(message: "--net '\(value)': \(why)") }
        let parts = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var network: NetworkConfiguration
        var forwards: [NetworkConfiguration.PortForward] = []
        let first = parts[0]
        if first == "user" {
            network = NetworkConfiguration(backend: .user(forwards: []))
        } else if first.hasPrefix("tap=") {
            let name = String(first.dropFirst(4))
            guard !name.isEmpty else { throw fail("needs a tap name, as in --net tap=tap0") }
            guard name.utf8.count <= 15, !name.contains("/"), !name.contains(" "), name != ".", name != ".." else {
                throw fail("'\(name)' is not an interface name (at most 15 bytes, no '/' or spaces)")
            }
            network = NetworkConfiguration(backend: .tap(name))
        } else {
            throw fail("the backend is tap=NAME or user, as in --net tap=tap0 or --net user,hostfwd=tcp:8080-:80")
        }
        var seen: Set<String> = []
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw fail("'\(option)' is not key=value") }
            let (key, setting) = (pair[0], pair[1])
            guard seen.insert(key).inserted || key == "hostfwd" else { throw fail("'\(key)' is given more than once") }
            switch key {
            case "mac":
                guard let mac = MACAddress(setting) else { throw fail("mac=\(setting): not a MAC address, as in 52:54:00:12:34:56") }
                guard !mac.isMulticast else { throw fail("mac=\(setting): a multicast address (the first byte is odd) cannot be a card's") }
                network.mac = mac
            case "transport":
                guard let transport = DiskConfiguration.Transport(rawValue: setting) else { throw fail("transport=\(setting): transport is pci or mmio") }
                network.transport = transport
            case "offload" where first != "user":
                guard let choice = OnOff(rawValue: setting) else { throw fail("offload=\(setting): offload is on or off") }
                network.offloads = choice == .on
            case "hostfwd" where first == "user":
                forwards.append(try parseForward(setting, fail: fail))
            default:
                let options = first == "user" ? "hostfwd, mac and transport" : "mac, transport and offload"
                throw fail("unknown option '\(key)'; the options are \(options)")
            }
        }
        if case .user = network.backend { network.backend = .user(forwards: forwards) }
        return network
    }

    /// `tcp:HOSTPORT-:GUESTPORT` (QEMU's hostfwd, with no addresses), or `udp:...`.
    static func parseForward(_ text: String, fail: (String) -> UsageError) throws(UsageError) -> NetworkConfiguration.PortForward {
        let problem = fail("hostfwd=\(text): not PROTOCOL:HOSTPORT-:GUESTPORT, as in hostfwd=tcp:8080-:80")
        let protoAndRest = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard protoAndRest.count == 2, let proto = NetworkConfiguration.PortForward.Proto(rawValue: protoAndRest[0]) else { throw problem }
        let rest = protoAndRest[1]
        guard let dash = rest.firstIndex(of: "-"), rest[rest.index(after: dash)...].hasPrefix(":"),
              let host = UInt16(rest[..<dash]), let guest = UInt16(rest[rest.index(dash, offsetBy: 2)...])
        else { throw problem }
        guard host > 0, guest > 0 else { throw fail("hostfwd=\(text): port 0 cannot be forwarded") }
        return .init(proto: proto, hostPort: host, guestPort: guest)
    }

    /// Nothing, or `transport=pci|mmio` and `rate=BYTES_PER_SECOND`, comma-separated.
    static func parseRNG(_ value: String) throws(UsageError) -> RNGConfiguration {
        func fail(_ why: String) -> UsageError { UsageError(message: "--rng '\(value)': \(why)") }
        var rng = RNGConfiguration()
        guard !value.isEmpty else { return rng }
        var seen: Set<String> = []
        for option in value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw fail("'\(option)' is not key=value") }
            guard seen.insert(pair[0]).inserted else { throw fail("'\(pair[0])' is given more than once") }
            switch pair[0] {
            case "transport":
                guard let transport = DiskConfiguration.Transport(rawValue: pair[1]) else { throw fail("transport=\(pair[1]): transport is pci or mmio") }
                rng.transport = transport
            case "rate":
                guard let rate = UInt64(pair[1]), rate > 0 else { throw fail("rate=\(pair[1]): not a number of bytes a second greater than 0") }
                rng.rate = rate
            default:
                throw fail("unknown option '\(pair[0])'; the options are transport and rate")
            }
        }
        return rng
    }
}
