import JSON

/// `PUT /boot-source` (Firecracker's `BootSource`): the kernel, its command line and an
/// initrd, all host paths.
struct BootSource: Equatable {
    static let fields = ["kernel_image_path", "boot_args", "initrd_path"]

    /// Firecracker's default command line when `boot_args` is not given.
    static let defaultBootArgs = "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce"

    var kernelImagePath: String
    var bootArgs: String?
    var initrdPath: String?

    init(_ value: JSONValue) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        kernelImagePath = try object.requiredString("kernel_image_path")
        bootArgs = try object.string("boot_args")
        initrdPath = try object.string("initrd_path")
        guard !kernelImagePath.isEmpty else { throw APIError("The kernel file cannot be opened: the path is empty.") }
        if let bootArgs, bootArgs.utf8.contains(0) { throw APIError("Invalid boot_args: a NUL byte.") }
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("kernel_image_path", .string(kernelImagePath))]
        if let initrdPath { members.append(("initrd_path", .string(initrdPath))) }
        if let bootArgs { members.append(("boot_args", .string(bootArgs))) }
        return .object(members)
    }
}
