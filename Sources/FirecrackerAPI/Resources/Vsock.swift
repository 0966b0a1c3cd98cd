import JSON

/// `PUT /vsock` (Firecracker's `Vsock`): a virtio-vsock device whose host side is the
/// Unix socket `uds_path` (Firecracker's hybrid design).
struct Vsock: Equatable {
    static let fields = ["guest_cid", "uds_path", "vsock_id"]
    /// CIDs 0-2 are the hypervisor's, the local loopback's and the host's (virtio v1.2,
    /// 5.10.4); a guest's is 3 or more, 32 bits.
    static let cidRange: ClosedRange<Int64> = 3...Int64(UInt32.max)

    var guestCID: UInt32
    var udsPath: String

    init(_ value: JSONValue) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        guestCID = UInt32(try object.requiredInteger("guest_cid", in: Self.cidRange))
        udsPath = try object.requiredString("uds_path")
        if let id = try object.string("vsock_id") { _ = try checkedID(id) }
        guard !udsPath.isEmpty else { throw APIError("Cannot create the vsock device: the uds_path is empty.") }
        // sockaddr_un's sun_path: 108 bytes with the NUL, and a guest port's suffix.
        guard udsPath.utf8.count <= 96 else { throw APIError("Cannot create the vsock device: uds_path is longer than 96 bytes.") }
    }

    init(guestCID: UInt32, udsPath: String) {
        self.guestCID = guestCID
        self.udsPath = udsPath
    }

    var json: JSONValue {
        .object([("guest_cid", .integer(Int64(guestCID))), ("uds_path", .string(udsPath))])
    }
}
