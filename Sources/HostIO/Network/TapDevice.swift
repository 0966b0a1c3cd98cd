import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// A tap device: a virtual Ethernet interface of the host kernel whose frames a process
/// reads and writes through a file descriptor (Documentation/networking/tuntap.rst).
///
/// Opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a virtio-net header size of 12
/// (TUNSETVNETHDRSZ), every frame read or written carries `struct virtio_net_hdr_v1` in
/// front, the same bytes a virtio-net driver puts on its queues: checksum and
/// segmentation offloads pass through the VMM untouched. The descriptor is non-blocking:
/// a read with nothing to read, or a write with no room, says so at once.
public final class TapDevice: Sendable {
    /// Where the tun/tap driver's control device is.
    public static let defaultControlPath = "/dev/net/tun"
    /// The header size set with TUNSETVNETHDRSZ: `struct virtio_net_hdr_v1`, 12 bytes
    /// (virtio v1.2, 5.1.6), which has num_buffers whether or not MRG_RXBUF is used.
    public static let virtioHeaderSize: Int32 = 12
    /// The longest interface name (IFNAMSIZ less its NUL).
    public static let maximumNameLength = Int(IFNAMSIZ) - 1

    /// The interface's name, as the kernel has it.
    public let name: String
    /// The file descriptor frames are read from and written to.
    public let fd: Int32

    /// Why a tap device could not be opened.
    public enum OpenError: Error, Equatable, Sendable {
        /// open(2) of the control device failed.
        case cannotOpenControl(path: String, errno: Errno)
        /// TUNSETIFF failed: the interface does not exist and this process may not create
        /// it (EPERM), or it is not a tap, or is in use (EBUSY), ...
        case cannotAttach(name: String, errno: Errno)
        /// Another ioctl failed while setting the device up.
        case setupFailed(ioctl: String, errno: Errno)
    }

    /// Attaches to the tap device `name`, creating it when it does not exist and the
    /// process may (CAP_NET_ADMIN); sets the virtio-net header size and no offloads.
    public init(name: String, controlPath: String = TapDevice.defaultControlPath) throws(OpenError) {
        let fd = open(controlPath, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpenControl(path: controlPath, errno: .current) }
        var request = ckvm_tun_ifreq(name, Int16(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
        guard ckvm_ioctl_pointer(fd, CKVM_TUNSETIFF, &request) == 0 else {
            let error = Errno.current
            close(fd)
            throw .cannotAttach(name: name, errno: error)
        }
        var headerSize = Self.virtioHeaderSize
        guard ckvm_ioctl_pointer(fd, CKVM_TUNSETVNETHDRSZ, &headerSize) == 0 else {
            let error = Errno.current
            close(fd)
            throw .setupFailed(ioctl: "TUNSETVNETHDRSZ", errno: error)
        }
        var actual = [CChar](repeating: 0, count: Int(IFNAMSIZ))
        ckvm_ifreq_name(&request, &actual)
        self.name = String(decoding: actual.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.fd = fd
    }

    deinit { close(fd) }

    /// The offloads the reader of this descriptor takes (TUNSETOFFLOAD): with them, the
    /// kernel may hand over frames with partial checksums (TUN_F_CSUM) and TCP segments
    /// of up to 64 KiB (TUN_F_TSO4, TUN_F_TSO6) instead of finishing them itself.
    public func setOffloads(checksum: Bool, tso4: Bool, tso6: Bool) -> Errno? {
        var flags: UInt = 0
        if checksum { flags |= UInt(TUN_F_CSUM) }
        if checksum && tso4 { flags |= UInt(TUN_F_TSO4) }
        if checksum && tso6 { flags |= UInt(TUN_F_TSO6) }
        return ckvm_ioctl_value(fd, CKVM_TUNSETOFFLOAD, flags) == 0 ? nil : .current
    }
}
