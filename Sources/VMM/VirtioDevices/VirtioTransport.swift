/// How a virtio device reaches the guest.
public enum VirtioTransport: String, Sendable, CaseIterable {
    /// virtio-pci, found by any kernel that scans PCI (the default).
    case pci
    /// virtio-mmio, announced on the kernel command line and in the ACPI DSDT.
    case mmio
}

/// Where a virtio device's queues are served.
public enum VirtioIOMode: String, Sendable, CaseIterable {
    /// On the device's own I/O thread, woken by an ioeventfd; interrupts by irqfd.
    case thread
    /// On the vCPU thread that wrote the notification register, before the guest
    /// resumes; interrupts by ioctl.
    case vcpu
}
