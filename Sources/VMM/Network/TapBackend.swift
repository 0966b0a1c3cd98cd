import HostIO
import SystemErrors
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// A virtio-net backend on a host tap device: frames with their virtio-net header, so
/// the offloads pass through (`TapDevice`).
final class TapBackend: NetBackend {
    let tap: TapDevice
    var passesHeader: Bool { true }
    var fd: Int32 { tap.fd }

    init(_ tap: TapDevice) { self.tap = tap }

    func receive(into buffer: inout [UInt8], at offset: Int) -> NetReceiveResult {
        switch HostIO.read(tap.fd, into: &buffer, at: offset) {
        case .done(let count): return .frame(count)
        case .wouldBlock: return .empty
        case .closed: return .failed("tap \(tap.name): end of file")
        case .failed(let error): return .failed("tap \(tap.name): read failed: \(error)")
        }
    }

    func send(_ frame: ArraySlice<UInt8>) -> NetSendResult {
        switch HostIO.write(tap.fd, frame) {
        case .done: return .sent
        case .wouldBlock: return .busy
        // The kernel refused this frame's header (tun_get_user: EINVAL), or the interface
        // is down (EIO) until someone brings it up: drop the frame, carry on.
        case .failed(let error) where error.rawValue == EINVAL: return .rejected("tap \(tap.name): frame refused (EINVAL)")
        case .failed(let error) where error.rawValue == EIO: return .rejected("tap \(tap.name): the interface is down")
        case .closed: return .failed("tap \(tap.name): closed")
        case .failed(let error): return .failed("tap \(tap.name): write failed: \(error)")
        }
    }

    func enableReceiveOffloads(_ offloads: ReceiveOffloads) {
        // A failure leaves the offloads off: frames then arrive finished, which a driver
        // that accepted the offloads takes just the same.
        _ = tap.setOffloads(checksum: offloads.contains(.checksum), tso4: offloads.contains(.tso4), tso6: offloads.contains(.tso6))
    }
}
