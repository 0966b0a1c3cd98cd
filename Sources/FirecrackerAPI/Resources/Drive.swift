import JSON

/// `PUT /drives/{drive_id}` (Firecracker's `Drive`): a virtio-blk device backed by a raw
/// image. A root device also puts `root=/dev/vda` (or `root=PARTUUID=...`) and `ro` or
/// `rw` on the kernel command line, as Firecracker does; it is always the first disk.
struct Drive: Equatable {
    static let fields = [
        "drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid", "cache_type",
        "rate_limiter", "io_engine", "socket",
    ]

    var driveID: String
    var pathOnHost: String
    var isRootDevice: Bool
    var isReadOnly: Bool
    var partUUID: String?
    var cacheType: String
    /// "Sync" is served on the vCPU thread, "Async" on the disk's own I/O thread.
    var ioEngine: String

    init(_ value: JSONValue, pathID: String) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        driveID = try checkedID(try object.requiredString("drive_id"))
        guard driveID == pathID else { throw APIError("The id from the path does not match the id from the body!") }
        isRootDevice = try object.requiredBool("is_root_device")
        if try object.string("socket") != nil { throw .unsupported("vhost-user block devices (`socket`)") }
        pathOnHost = try object.requiredString("path_on_host")
        isReadOnly = try object.bool("is_read_only") ?? false
        partUUID = try object.string("partuuid")
        cacheType = try object.choice("cache_type", of: ["Unsafe", "Writeback"]) ?? "Unsafe"
        ioEngine = try object.choice("io_engine", of: ["Sync", "Async"]) ?? "Sync"
        _ = try RateLimiter.read("rate_limiter", of: object)
        guard !pathOnHost.isEmpty else { throw APIError("Unable to create the block device: the path is empty.") }
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("drive_id", .string(driveID)), ("partuuid", partUUID.map(JSONValue.string) ?? .null),
            ("is_root_device", .bool(isRootDevice)), ("cache_type", .string(cacheType)),
            ("is_read_only", .bool(isReadOnly)), ("path_on_host", .string(pathOnHost)),
        ]
        members.append(("io_engine", .string(ioEngine)))
        return .object(members)
    }

    /// What the kernel command line gets for a root device (Firecracker's builder).
    var rootArguments: String {
        (partUUID.map { "root=PARTUUID=\($0)" } ?? "root=/dev/vda") + (isReadOnly ? " ro" : " rw")
    }
}
