import GuestMemory

/// The identity-mapping page tables for the 64-bit entry: virtual = physical for the
/// first 4 GiB, with 2 MiB pages (Intel SDM vol. 3A, 4.5 "4-Level Paging"; boot.rst,
/// "64-bit BOOT PROTOCOL": the kernel, zero page and command line must be identity mapped).
///
/// Layout, from `Layout.pageTables`: the PML4, one PDPT, then four page directories,
/// one per GiB, each of 512 entries mapping 2 MiB.
public enum PageTables {
    /// Page-table entry bits (SDM vol. 3A, tables 4-15 to 4-18).
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    /// PS in a page-directory entry: it maps a 2 MiB page, not a page table.
    static let pageSize: UInt64 = 1 << 7

    static let entriesPerTable = 512
    static let largePageSize: UInt64 = 2 << 20
    static let directories = 4

    public static var pml4: GuestAddress { Layout.pageTables }
    static var pdpt: GuestAddress { GuestAddress(Layout.pageTables.rawValue + Layout.pageSize) }
    static func directory(_ index: Int) -> GuestAddress {
        GuestAddress(Layout.pageTables.rawValue + UInt64(2 + index) * Layout.pageSize)
    }

    /// The bytes to write at `Layout.pageTables` (Layout.pageTablesSize of them).
    public static var bytes: [UInt8] {
        var fields = ByteFields(count: Int(Layout.pageTablesSize))
        let pageBytes = Int(Layout.pageSize)
        fields.write(pdpt.rawValue | present | writable, at: 0)  // PML4[0] -> PDPT
        for gib in 0..<directories {
            fields.write(directory(gib).rawValue | present | writable, at: pageBytes + gib * 8)  // PDPT[gib] -> PD
            let firstPage = UInt64(gib * entriesPerTable), pages = firstPage..<firstPage + UInt64(entriesPerTable)
            fields.write(pages.lazy.map { $0 * largePageSize | present | writable | pageSize }, at: (2 + gib) * pageBytes)
        }
        return fields.bytes
    }
}
