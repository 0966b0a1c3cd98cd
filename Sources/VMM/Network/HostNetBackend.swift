import Virtio

/// A network backend on a host descriptor (a tap's, passt's socket), which the device's
/// thread polls for frames to read and room to write.
protocol HostNetBackend: NetBackend {
    /// The descriptor frames are read from and written to.
    var fd: Int32 { get }
}

extension TapBackend: HostNetBackend {}
extension PasstBackend: HostNetBackend {}
