/// What a device that waits on something besides its driver asks of whoever serves it:
/// a network device waits for its backend to have a frame (or room for one), an entropy
/// device for its rate limit to allow more bytes. Its queue handlers ask; the machine
/// answers with the device's thread (`VirtioService`: the ioeventfds, the backend's
/// descriptor and timers in one poll(2) loop); tests answer with a fake.
///
/// Calls arrive with a queue's lock (or the device's registers' lock) held, on whichever
/// thread serves it: an implementation must only take note (watch a descriptor, arm a
/// timer), never call back into the device.
public protocol VirtioWakeUps: Sendable {
    /// Serve queue `queue` again in `nanoseconds`: a rate limit allows more then.
    func serveAgain(queue: Int, afterNanoseconds nanoseconds: UInt64)
    /// Watch the backend for input (`true`: the device has buffers for it) or stop
    /// watching it (`false`: the driver has posted none, so input stays in the backend).
    func watchBackendInput(_ watching: Bool)
    /// Watch the backend for room to send (`true`: a frame waits for it), or stop.
    func watchBackendOutput(_ watching: Bool)
}

extension VirtioWakeUps {
    /// By default nothing: a device that waits on no timer never asks.
    public func serveAgain(queue: Int, afterNanoseconds nanoseconds: UInt64) {}
    /// By default nothing: a device without a backend never asks.
    public func watchBackendInput(_ watching: Bool) {}
    /// By default nothing: a device without a backend never asks.
    public func watchBackendOutput(_ watching: Bool) {}
}

/// No one to wake: a device served only when its driver notifies it.
public struct NoWakeUps: VirtioWakeUps {
    /// Nobody listening.
    public init() {}
}
