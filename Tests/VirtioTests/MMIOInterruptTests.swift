import CUAPI
import GuestMemory
import Testing
@testable import Virtio

@Suite("virtio-mmio interrupts (virtio v1.2, 4.2.3.4)")
struct MMIOInterruptTests {
    @Test("4.2.3.4: an edge per new InterruptStatus bit; completions the driver has not acknowledged yet raise none, and after the acknowledgement the next one does")
    func oneEdgeUntilAcknowledged() {
        let memory = fakeGuestMemory()
        let transport = MMIOTransport(VirtioBlock(name: "blk", backend: MemoryDisk(sectors: 8), readOnly: false), memory: memory)
        let driver = FakeDriver(transport, memory: memory)
        for _ in 0..<3 { _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512) }
        // Three completions, no acknowledgement: one edge.
        #expect(transport.line.rises == 1)
        #expect(transport.read(VIRTIO_MMIO_INTERRUPT_STATUS) == UInt32(VIRTIO_MMIO_INT_VRING))
        transport.write(VIRTIO_MMIO_INTERRUPT_ACK, UInt32(VIRTIO_MMIO_INT_VRING))
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(transport.line.rises == 2)
    }
}
