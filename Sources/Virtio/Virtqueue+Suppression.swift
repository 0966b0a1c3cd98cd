import CUAPI
import GuestMemory

/// Asking the driver not to notify (virtio v1.2, 2.7.10 "Available Buffer Notification
/// Suppression"): a device that will look at a queue anyway (a network device's receive
/// queue while it still has buffers) spares the driver an exit per buffer, and itself a
/// wake-up.
extension Virtqueue {
    /// VIRTQ_USED_F_NO_NOTIFY, in the used ring's flags.
    static let noNotify = UInt16(VRING_USED_F_NO_NOTIFY)

    /// Without EVENT_IDX, sets VIRTQ_USED_F_NO_NOTIFY: the driver may stop notifying
    /// ("a hint", 2.7.10). With EVENT_IDX the device simply does not move `avail_event`
    /// on (the driver notifies only when its index passes it), so nothing is written.
    public func suppressNotifications(memory: GuestMemory) throws(VirtqueueError) {
        guard !eventIndex else { return }
        do { try memory.storeReleasing(Self.noNotify, at: usedRing) } catch { throw .memory(error) }
    }

    /// Asks for notifications again (clears VIRTQ_USED_F_NO_NOTIFY, or arms
    /// `avail_event` at the next entry), then reports whether chains arrived meanwhile:
    /// the device must look again before it waits, or it could miss them (2.7.10).
    public mutating func requestNotifications(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        if eventIndex { return try armAvailableNotification(memory: memory) }
        do {
            try memory.storeReleasing(0, at: usedRing)
        } catch {
            throw .memory(error)
        }
        memory.fullFence()
        return try hasAvailable(memory: memory)
    }
}
