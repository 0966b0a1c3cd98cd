import GuestMemory

/// What serves one queue of a device while the driver has it enabled: it holds what the
/// queue's requests need (for a block device, the disk image) and is reached by one
/// thread at a time, whichever serves the queue (a vCPU that wrote the notification
/// register, or the device's I/O thread). `VirtioDevice.queueHandler(for:features:)`
/// makes one when the driver enables the queue.
public protocol VirtqueueHandler: Sendable {
    /// Executes the request in `chain`; returns the bytes it wrote into the chain's
    /// device-writable buffers (the used element's `len`, virtio v1.2, 2.7.8).
    mutating func handle(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32

    /// Serves what the driver made available: takes chains with `queue.next()` and gives
    /// each back with `queue.complete(_:written:)`. By default every chain, through
    /// `handle`; a device that answers only when it has something to give (a network
    /// device's receive queue, virtio-vsock's rx queue) takes chains only then, and has
    /// the queue served again when it has (the chains it left wait for it).
    mutating func serve(_ queue: inout ServedVirtqueue) throws(VirtqueueError)
}

extension VirtqueueHandler {
    /// Every available chain, each through `handle(_:memory:)`.
    public mutating func serve(_ queue: inout ServedVirtqueue) throws(VirtqueueError) {
        while let chain = try queue.next() {
            try queue.complete(chain, written: handle(chain, memory: queue.memory))
        }
    }
}

/// A live queue as a handler serves it: the chains the driver made available, and the
/// used ring they go back to.
public struct ServedVirtqueue {
    /// The guest memory the chains' buffers are in.
    public let memory: GuestMemory
    /// The queue, as serving has left it so far.
    public internal(set) var virtqueue: Virtqueue
    /// How many chains went back to the driver.
    public private(set) var completed = 0
    /// The handler changed the device's configuration (`reportConfigurationChange()`).
    public private(set) var configurationChanged = false

    /// `virtqueue` (activated) to serve, its buffers in `memory`.
    public init(_ virtqueue: Virtqueue, memory: GuestMemory) {
        self.virtqueue = virtqueue
        self.memory = memory
    }

    /// Whether the handler's last `next()` found no chain: it took all there was. A
    /// handler that stops while chains wait (it has nothing to put in them yet) is not
    /// called again in the same round; whoever gives it something serves the queue again.
    var tookAll = false

    /// The next chain the driver made available, checked, or nil when there is none.
    public mutating func next() throws(VirtqueueError) -> DescriptorChain? {
        let chain = try virtqueue.popAvailable(memory: memory)
        tookAll = chain == nil
        return chain
    }

    /// Gives `chain` back to the driver with `written` bytes written into it (2.7.8).
    public mutating func complete(_ chain: DescriptorChain, written: UInt32) throws(VirtqueueError) {
        try virtqueue.pushUsed(head: chain.head, length: written, memory: memory)
        completed += 1
    }

    /// Whether the driver made available a chain not taken yet: a handler that must not
    /// take a chain it cannot use yet (a receive queue with no frame for it) asks first.
    public func hasAvailable() throws(VirtqueueError) -> Bool {
        try virtqueue.hasAvailable(memory: memory)
    }

    /// The device configuration changed while serving (a network link went down): the
    /// driver is sent a configuration change notification (virtio v1.2, 2.5; 4.1.4.5,
    /// 4.2.3.4).
    public mutating func reportConfigurationChange() {
        configurationChanged = true
    }

    /// Asks the driver not to notify this queue (2.7.10): the device looks at it anyway
    /// (a receive queue with buffers, woken by its backend).
    public func suppressNotifications() throws(VirtqueueError) {
        try virtqueue.suppressNotifications(memory: memory)
    }

    /// Asks the driver to notify again, then says whether chains arrived meanwhile
    /// (2.7.10): the handler looks again before it waits, or it could miss them.
    public mutating func requestNotifications() throws(VirtqueueError) -> Bool {
        try virtqueue.requestNotifications(memory: memory)
    }
}
