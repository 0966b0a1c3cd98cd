import CKVM

/// One entry of a VM's interrupt routing table: where a signal on GSI `gsi` goes
/// (Documentation/virt/kvm/api.rst, KVM_SET_GSI_ROUTING).
public enum GSIRoute: Sendable, Equatable {
    /// The in-kernel interrupt controllers' inputs a GSI drives.
    public enum IRQChip: UInt32, Sendable {
        case picMaster = 0  // KVM_IRQCHIP_PIC_MASTER: pins 0-7
        case picSlave = 1   // KVM_IRQCHIP_PIC_SLAVE: pins 8-15, as pins 0-7
        case ioAPIC = 2     // KVM_IRQCHIP_IOAPIC: pins 0-23
    }

    /// GSI `gsi` drives input `pin` of `chip`.
    case irqChip(gsi: UInt32, chip: IRQChip, pin: UInt32)
    /// GSI `gsi` sends a message-signalled interrupt: `data` written to `address`.
    case msi(gsi: UInt32, address: UInt64, data: UInt32)

    public var gsi: UInt32 {
        switch self {
        case .irqChip(let gsi, _, _), .msi(let gsi, _, _): return gsi
        }
    }

    /// The pins of KVM's in-kernel I/O APIC, which GSIs 0 to 23 reach (KVM_IOAPIC_NUM_PINS).
    public static let ioAPICPins = UInt32(KVM_IOAPIC_NUM_PINS)

    /// The routes KVM_CREATE_IRQCHIP installs, which a KVM_SET_GSI_ROUTING replaces
    /// wholesale and so must repeat: GSI n to I/O APIC pin n for n < `ioAPICPins`, and
    /// GSIs 0-15 also to the PIC pair (master pins 0-7, slave pins 0-7 for GSIs 8-15).
    /// Without them the timer, the UART and every ISA interrupt would go nowhere.
    public static func irqChipDefaults() -> [GSIRoute] {
        var routes: [GSIRoute] = []
        for gsi in 0..<ioAPICPins {
            if gsi < 8 { routes.append(.irqChip(gsi: gsi, chip: .picMaster, pin: gsi)) }
            else if gsi < 16 { routes.append(.irqChip(gsi: gsi, chip: .picSlave, pin: gsi - 8)) }
            routes.append(.irqChip(gsi: gsi, chip: .ioAPIC, pin: gsi))
        }
        return routes
    }

    var kernelValue: kvm_irq_routing_entry {
        var entry = kvm_irq_routing_entry()
        entry.gsi = gsi
        switch self {
        case .irqChip(_, let chip, let pin):
            entry.type = UInt32(KVM_IRQ_ROUTING_IRQCHIP)
            entry.u.irqchip.irqchip = chip.rawValue
            entry.u.irqchip.pin = pin
        case .msi(_, let address, let data):
            entry.type = UInt32(KVM_IRQ_ROUTING_MSI)
            entry.u.msi.address_lo = UInt32(truncatingIfNeeded: address)
            entry.u.msi.address_hi = UInt32(truncatingIfNeeded: address >> 32)
            entry.u.msi.data = data
        }
        return entry
    }
}
