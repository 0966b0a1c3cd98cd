import HostIO
import Virtio

/// A raw image file is what a virtio-blk device's bytes live in: its reads, writes and
/// flushes are the ones `BlockBackend` asks for.
extension RawDiskImage: BlockBackend {}
