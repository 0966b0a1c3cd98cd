/// A virtio-vsock device (`--vsock cid=N,uds=PATH`, Firecracker's `PUT /vsock`): the
/// guest's CID, and the Unix socket its host side is (Firecracker's hybrid design:
/// host programs connect to `udsPath` and write `CONNECT PORT\n`; guest connections to
/// host port P reach a program listening at `udsPath_P`).
public struct VsockConfiguration: Sendable, Equatable {
    /// CIDs 0-2 are reserved (virtio v1.2, 5.10.4: 2 is the host).
    public static let firstGuestCID: UInt32 = 3
    /// Room in sun_path for `udsPath`, `_`, and a 10-digit port.
    public static let maximumPathBytes = 96

    public var guestCID: UInt32
    public var udsPath: String

    public init(guestCID: UInt32, udsPath: String) {
        self.guestCID = guestCID
        self.udsPath = udsPath
    }
}
