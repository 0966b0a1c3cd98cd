import Synchronization

/// What a network device's two queues share: the backend, whether the link is up, and
/// the device's ways to be woken and to report. The link goes down for good when the
/// backend fails (VIRTIO_NET_S_LINK_UP cleared, virtio v1.2, 5.1.4); a reset does not
/// bring it back, since the backend is gone.
public final class NetLink: Sendable {
    /// The device's name, for reports.
    let device: String
    /// Where frames go and come from.
    public let backend: any NetBackend
    /// How the device asks to be served again when the backend has frames or room.
    let wakeUps: any VirtioWakeUps
    let observer: (any VirtioObserver)?
    private let up = Atomic<Bool>(true)

    init(device: String, backend: any NetBackend, wakeUps: any VirtioWakeUps, observer: (any VirtioObserver)?) {
        self.device = device
        self.backend = backend
        self.wakeUps = wakeUps
        self.observer = observer
    }

    /// VIRTIO_NET_S_LINK_UP: true until the backend fails.
    public var isUp: Bool { up.load(ordering: .acquiring) }

    /// The backend failed, for `reason`: the link goes down. True for the call that took
    /// it down, whose queue tells the driver (a configuration change); false after.
    func fail(_ reason: String) -> Bool {
        guard up.exchange(false, ordering: .acquiringAndReleasing) else { return false }
        report(.backendFailed(reason))
        return true
    }

    func report(_ event: NetworkEvent) {
        observer?.observe(.network(event), device: device)
    }
}
