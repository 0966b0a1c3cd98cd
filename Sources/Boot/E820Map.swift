import CUAPI
import GuestMemory

/// The BIOS e820 memory map handed to the kernel in the zero page: which physical ranges
/// are RAM and which are reserved (ACPI 6.5, 15 "System Address Map Interfaces";
/// Documentation/arch/x86/zero-page.rst, e820_table).
public struct E820Map: Sendable, Equatable {
    /// One range: `struct boot_e820_entry` (addr, size, type).
    public struct Entry: Sendable, Equatable {
        public let start: UInt64
        public let size: UInt64
        public let type: EntryType

        public var end: UInt64 { start + size }
    }

    /// Range types (ACPI "Address Range Types"; the kernel's E820_TYPE_*).
    public enum EntryType: UInt32, Sendable {
        case ram = 1
        case reserved = 2
    }

    /// Entries sorted by address, never overlapping.
    public let entries: [Entry]

    /// The map for guest RAM `regions`:
    /// - RAM from 0 up to the EBDA (conventional memory, below 640 KiB);
    /// - reserved from the EBDA to 1 MiB (EBDA, VGA window, BIOS ROM);
    /// - RAM from 1 MiB to the end of the first region;
    /// - reserved for PCI's configuration space (ECAM) and for KVM's identity-map and TSS
    ///   pages in the MMIO hole;
    /// - RAM above 4 GiB, if there is any.
    public init(ramRegions regions: [(start: GuestAddress, size: UInt64)]) {
        var entries: [Entry] = []
        for region in regions {
            if region.start.rawValue == 0 {
                let low = Layout.ebdaStart.rawValue, high = Layout.kernelStart.rawValue
                entries.append(Entry(start: 0, size: min(low, region.size), type: .ram))
                entries.append(Entry(start: low, size: high - low, type: .reserved))
                if region.size > high {
                    entries.append(Entry(start: high, size: region.size - high, type: .ram))
                }
            } else {
                entries.append(Entry(start: region.start.rawValue, size: region.size, type: .ram))
            }
        }
        entries.append(Entry(start: Layout.pciECAM.rawValue, size: Layout.pciECAMSize, type: .reserved))
        entries.append(Entry(start: Layout.kvmIdentityMap.rawValue, size: Layout.kvmPrivateSize, type: .reserved))
        self.entries = entries.sorted { $0.start < $1.start }
    }

    /// The zero page's e820_table bytes: entries of {u64 addr, u64 size, u32 type}.
    var tableBytes: [UInt8] {
        var fields = ByteFields(count: entries.count * ZeroPageField.e820EntrySize)
        let address = MemoryLayout<boot_e820_entry>.offset(of: \.addr)!
        let size = MemoryLayout<boot_e820_entry>.offset(of: \.size)!
        let type = MemoryLayout<boot_e820_entry>.offset(of: \.type)!
        for (index, entry) in entries.enumerated() {
            let base = index * ZeroPageField.e820EntrySize
            fields.write(entry.start, at: base + address)
            fields.write(entry.size, at: base + size)
            fields.write(entry.type.rawValue, at: base + type)
        }
        return fields.bytes
    }
}
