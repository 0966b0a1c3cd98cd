import Devices
import KVM
import Locking

/// An IRQ line of the in-kernel interrupt controllers, driven with KVM_IRQ_LINE. The
/// lines are fixed and valid, so KVM refusing one is a host failure, and the guest would
/// wait for ever for the interrupt: the machine stops.
struct KVMInterruptLine: InterruptLine {
    let vm: VirtualMachine
    let irq: UInt32
    /// The device the line belongs to, for the stop reason.
    let device: String
    let faults: HostFaults

    func setLevel(_ high: Bool) {
        do {
            try vm.setIRQLine(irq, high: high)
        } catch {
            faults.stopMachine(.hostFailure(device: device, error))
        }
    }
}

/// An edge-triggered interrupt line raised through an irqfd: a pulse is one write to an
/// eventfd, which KVM turns into an edge on the GSI without a system call on the irqchip
/// (api.rst, KVM_IRQFD). The level, for completeness, goes through KVM_IRQ_LINE.
struct IRQFDInterruptLine: InterruptLine {
    let line: KVMInterruptLine
    let event: EventFD

    init(vm: VirtualMachine, gsi: UInt32, device: String, faults: HostFaults) throws(KVMError) {
        self.line = KVMInterruptLine(vm: vm, irq: gsi, device: device, faults: faults)
        self.event = try EventFD()
        try vm.assignIRQFD(event, gsi: gsi)
    }

    func setLevel(_ high: Bool) { line.setLevel(high) }

    func pulse() {
        do {
            try event.signal()
        } catch {
            line.faults.stopMachine(.hostFailure(device: line.device, error))
        }
    }
}

/// Message-signalled interrupts sent with KVM_SIGNAL_MSI: one ioctl per interrupt.
struct SignalledMSI: MSIDelivery {
    let vm: VirtualMachine
    /// The device sending them, for the warning.
    let device: String
    let faults: HostFaults

    func deliver(_ message: MSIMessage) {
        do {
            try vm.signalMSI(address: message.address, data: message.data)
        } catch {
            // The guest programmed the message; one KVM refuses (no CPU at its address) is
            // lost, as a write to nowhere is on hardware. Said once.
            faults.warnOnce("\(device) KVM_SIGNAL_MSI", "\(device): \(error); MSI-X message data 0x"
                + String(message.data, radix: 16) + " to 0x" + String(message.address, radix: 16)
                + " was not delivered (later failures are not reported)")
        }
    }
}

/// Message-signalled interrupts sent through irqfds: each distinct message gets a GSI
/// routed to it (KVM_SET_GSI_ROUTING) and an eventfd bound to that GSI (KVM_IRQFD), so
/// sending it is one eventfd write. A guest sets a few messages up once; should it keep
/// inventing new ones past `capacity`, or KVM refuse a route, the rest go by
/// KVM_SIGNAL_MSI.
///
/// KVM_SET_GSI_ROUTING replaces the whole table, so the irqchip's default routes are
/// always part of it (`GSIRoute.irqChipDefaults()`).
final class MSIRouter: MSIDelivery {
    /// GSIs above the I/O APIC's pins are free for message routes.
    static let firstGSI: UInt32 = GSIRoute.ioAPICPins
    static let capacity = 64

    private let vm: VirtualMachine
    private let fallback: SignalledMSI
    /// Each message's GSI and the eventfd bound to it.
    private let routes = Locked<[MSIMessage: (gsi: UInt32, event: EventFD)]>([:])

    init(vm: VirtualMachine, faults: HostFaults) {
        self.vm = vm
        self.fallback = SignalledMSI(vm: vm, device: "msi-router", faults: faults)
    }

    func deliver(_ message: MSIMessage) {
        guard let event = eventFD(for: message) else { return fallback.deliver(message) }
        do {
            try event.signal()
        } catch {
            fallback.deliver(message)
        }
    }

    private func eventFD(for message: MSIMessage) -> EventFD? {
        routes.withLock { routes in
            if let route = routes[message] { return route.event }
            guard routes.count < Self.capacity else { return nil }
            let gsi = Self.firstGSI + UInt32(routes.count)
            var table = GSIRoute.irqChipDefaults()
            for (known, route) in routes {
                table.append(.msi(gsi: route.gsi, address: known.address, data: known.data))
            }
            table.append(.msi(gsi: gsi, address: message.address, data: message.data))
            do {
                let event = try EventFD()
                try vm.setGSIRouting(table)
                try vm.assignIRQFD(event, gsi: gsi)
                routes[message] = (gsi, event)
                return event
            } catch {
                fallback.faults.warnOnce("msi-router", "cannot route MSI-X messages through irqfds (\(error)); "
                    + "sending them with KVM_SIGNAL_MSI instead")
                return nil
            }
        }
    }
}
