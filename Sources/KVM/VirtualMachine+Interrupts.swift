import CKVM

/// Interrupts and notifications between devices and the guest that bypass the vCPU
/// threads: message-signalled interrupts, interrupt routing, irqfd and ioeventfd.
extension VirtualMachine {
    /// KVM_SIGNAL_MSI: delivers one message-signalled interrupt, `data` written to
    /// `address`, to the in-kernel local APICs (api.rst, KVM_SIGNAL_MSI). Safe from any
    /// thread.
    public func signalMSI(address: UInt64, data: UInt32) throws(KVMError) {
        var message = kvm_msi()
        message.address_lo = UInt32(truncatingIfNeeded: address)
        message.address_hi = UInt32(truncatingIfNeeded: address >> 32)
        message.data = data
        try fd.ioctl(.signalMSI, &message)
    }

    /// KVM_SET_GSI_ROUTING: replaces the whole interrupt routing table with `routes`
    /// (api.rst, KVM_SET_GSI_ROUTING). Include `GSIRoute.irqChipDefaults()`, or every
    /// interrupt line of the irqchip is cut off.
    public func setGSIRouting(_ routes: [GSIRoute]) throws(KVMError) {
        try FlexibleArray<kvm_irq_routing>(routes.map(\.kernelValue)).withArgument { (argument) throws(KVMError) in
            try fd.ioctl(.setGSIRouting, buffer: argument)
        }
    }

    /// KVM_IRQFD: from now on, a signal on `event` raises GSI `gsi` as an edge (the line
    /// is pulsed), as its route says (api.rst, KVM_IRQFD).
    public func assignIRQFD(_ event: EventFD, gsi: UInt32) throws(KVMError) {
        var request = kvm_irqfd()
        request.fd = UInt32(bitPattern: event.rawValue)
        request.gsi = gsi
        try fd.ioctl(.irqFD, &request)
    }

    /// A guest write KVM_IOEVENTFD turns into a signal: `length` bytes at guest physical
    /// `address`, in MMIO space, optionally only when the value written is `value`.
    public struct IOEvent: Sendable, Equatable {
        public let address: UInt64
        public let length: UInt32
        public let value: UInt64?

        /// A match of `length`-byte writes at `address`, of `value` only if given
        /// (KVM_IOEVENTFD_FLAG_DATAMATCH).
        public init(address: UInt64, length: UInt32, value: UInt64? = nil) {
            self.address = address
            self.length = length
            self.value = value
        }
    }

    /// KVM_IOEVENTFD: a guest write matching `match` signals `event` inside KVM, and the
    /// vCPU goes on without leaving the kernel (api.rst, KVM_IOEVENTFD). Writes that do
    /// not match (another length, another value) still exit to user space as MMIO.
    public func assignIOEventFD(_ event: EventFD, for match: IOEvent) throws(KVMError) {
        var request = Self.ioEventRequest(event, match)
        try fd.ioctl(.ioEventFD, &request)
    }

    /// KVM_IOEVENTFD with KVM_IOEVENTFD_FLAG_DEASSIGN: undoes `assignIOEventFD`.
    public func deassignIOEventFD(_ event: EventFD, for match: IOEvent) throws(KVMError) {
        var request = Self.ioEventRequest(event, match)
        request.flags |= UInt32(1 << kvm_ioeventfd_flag_nr_deassign)
        try fd.ioctl(.ioEventFD, &request)
    }

    private static func ioEventRequest(_ event: EventFD, _ match: IOEvent) -> kvm_ioeventfd {
        var request = kvm_ioeventfd()
        request.addr = match.address
        request.len = match.length
        request.fd = event.rawValue
        if let value = match.value {
            request.datamatch = value
            request.flags = UInt32(1 << kvm_ioeventfd_flag_nr_datamatch)
        }
        return request
    }
}
