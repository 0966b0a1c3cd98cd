import Locking
import Devices
import KVM

/// An edge-triggered interrupt line raised through an irqfd: a pulse is one write to an
/// eventfd, which KVM turns into an edge on the GSI without a system call on the irqchip
/// (api.rst, KVM_IRQFD). The level, for completeness, goes through KVM_IRQ_LINE.
struct IRQFDInterruptLine: InterruptLine {
    let vm: VirtualMachine
    let gsi: UInt32
    let event: EventFD

    init(vm: VirtualMachine, gsi: UInt32) throws(KVMError) {
        self.vm = vm
        self.gsi = gsi
        self.event = try EventFD()
        try vm.assignIRQFD(event, gsi: gsi)
    }

    func setLevel(_ high: Bool) { try? vm.setIRQLine(gsi, high: high) }
    func pulse() { event.signal() }
}

/// Message-signalled interrupts sent with KVM_SIGNAL_MSI: one ioctl per interrupt.
struct SignalledMSI: MSIDelivery {
    let vm: VirtualMachine

    func deliver(_ message: MSIMessage) {
        // Fails only for a message KVM rejects outright (flags it does not know); the
        // guest programmed it and loses the interrupt, as on hardware.
        try? vm.signalMSI(address: message.address, data: message.data)
    }
}

/// Message-signalled interrupts sent through irqfds: each distinct message gets a GSI
/// routed to it (KVM_SET_GSI_ROUTING) and an eventfd bound to that GSI (KVM_IRQFD), so
/// sending it is one eventfd write. A guest sets a few messages up once; should it keep
/// inventing new ones past `capacity`, the rest go by KVM_SIGNAL_MSI.
///
/// KVM_SET_GSI_ROUTING replaces the whole table, so the irqchip's default routes are
/// always part of it (`GSIRoute.irqChipDefaults()`).
final class MSIRouter: MSIDelivery {
    /// GSIs above the I/O APIC's pins are free for message routes.
    static let firstGSI: UInt32 = GSIRoute.ioAPICPins
    static let capacity = 64

    private let vm: VirtualMachine
    /// Each message's GSI and the eventfd bound to it.
    private let routes = Locked<[MSIMessage: (gsi: UInt32, event: EventFD)]>([:])

    init(vm: VirtualMachine) {
        self.vm = vm
    }

    func deliver(_ message: MSIMessage) {
        if let event = eventFD(for: message) {
            event.signal()
        } else {
            SignalledMSI(vm: vm).deliver(message)
        }
    }

    private func eventFD(for message: MSIMessage) -> EventFD? {
        routes.withLock { routes in
            if let route = routes[message] { return route.event }
            guard routes.count < Self.capacity, let event = try? EventFD() else { return nil }
            let gsi = Self.firstGSI + UInt32(routes.count)
            var table = GSIRoute.irqChipDefaults()
            for (known, route) in routes {
                table.append(.msi(gsi: route.gsi, address: known.address, data: known.data))
            }
            table.append(.msi(gsi: gsi, address: message.address, data: message.data))
            do {
                try vm.setGSIRouting(table)
                try vm.assignIRQFD(event, gsi: gsi)
            } catch {
                return nil
            }
            routes[message] = (gsi, event)
            return event
        }
    }
}
