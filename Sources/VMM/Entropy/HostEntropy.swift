import HostIO
import Virtio

/// Entropy from the host kernel (getrandom(2)).
struct HostEntropy: EntropySource {
    func randomBytes(_ count: Int) -> [UInt8] { HostIO.randomBytes(count) }
}
