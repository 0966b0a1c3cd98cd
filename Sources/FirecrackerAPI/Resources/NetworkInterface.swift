import JSON
import VMM
import Virtio

/// `PUT /network-interfaces/{iface_id}` (Firecracker's `NetworkInterface`): a virtio-net
/// device over a host tap device, the `--net tap=NAME` of the command line.
struct NetworkInterface: Equatable {
    static let fields = ["iface_id", "host_dev_name", "guest_mac", "mtu", "rx_rate_limiter", "tx_rate_limiter"]
    /// IFNAMSIZ less the terminating NUL.
    static let maximumNameLength = 15

    var interfaceID: String
    var hostDeviceName: String
    var guestMAC: [UInt8]?
    var mtu: Int?

    init(_ value: JSONValue, pathID: String) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        interfaceID = try checkedID(try object.requiredString("iface_id"))
        guard interfaceID == pathID else { throw APIError("The id from the path does not match the id from the body!") }
        hostDeviceName = try object.requiredString("host_dev_name")
        guard !hostDeviceName.isEmpty, hostDeviceName.utf8.count <= Self.maximumNameLength,
              !hostDeviceName.contains("/"), !hostDeviceName.contains(" ")
        else { throw APIError("Invalid host_dev_name '\(hostDeviceName)': a tap device name of 1 to 15 characters.") }
        if let text = try object.string("guest_mac") {
            guard let mac = Self.mac(text) else { throw .body("invalid MAC address `\(text)`: six hexadecimal bytes, as 06:00:ac:10:00:02") }
            guard mac[0] & 1 == 0 else { throw APIError("Invalid guest_mac '\(text)': a multicast address.") }
            guestMAC = mac
        }
        // 68: the least MTU IPv4 allows (RFC 791).
        mtu = (try object.integer("mtu", in: 68...65535)).map(Int.init)
        _ = try RateLimiter.read("rx_rate_limiter", of: object)
        _ = try RateLimiter.read("tx_rate_limiter", of: object)
    }

    /// The device as the machine is built with it: on the tap, with its MAC (or a stable
    /// one) and MTU, on the same transport as the API's drives.
    var networkConfiguration: NetworkConfiguration {
        NetworkConfiguration(
            backend: .tap(hostDeviceName), mac: guestMAC.map { MACAddress(bytes: $0) },
            mtu: mtu.map { UInt16($0) } ?? VirtioNet.defaultMTU)
    }

    /// "aa:bb:cc:dd:ee:ff" as six bytes.
    static func mac(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 }) else { return nil }
        let bytes = parts.compactMap { UInt8($0, radix: 16) }
        return bytes.count == 6 ? bytes : nil
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("iface_id", .string(interfaceID)), ("host_dev_name", .string(hostDeviceName))]
        if let guestMAC {
            members.append(("guest_mac", .string(guestMAC.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":"))))
        }
        if let mtu { members.append(("mtu", .integer(Int64(mtu)))) }
        return .object(members)
    }
}
