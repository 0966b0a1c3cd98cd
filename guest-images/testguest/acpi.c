/*
 * Finding the CPUs the way an operating system does: the RSDP, then the XSDT, then the
 * MADT (ACPI 6.5: 5.2.5 RSDP, 5.2.8 XSDT, 5.2.12 MADT), checking every checksum.
 */
#include "smp.h"

#define BP_ACPI_RSDP_ADDR 0x070 /* u64, struct boot_params (zero-page.rst) */

/* ACPI 6.5, 5.2.5.1 "Finding the RSDP on IA-PC Systems": 16-byte boundaries in the BIOS
 * read-only memory space 0xE0000-0xFFFFF (the EBDA's first KiB is not searched here:
 * SwiftVMM leaves it empty). */
#define BIOS_AREA_START 0xe0000
#define BIOS_AREA_END 0x100000

#define RSDP_REVISION 15        /* u8 */
#define RSDP_LENGTH 20          /* u32, revision 2 and later */
#define RSDP_XSDT_ADDRESS 24    /* u64 */
#define RSDP_V1_SIZE 20         /* what the first checksum covers */
#define HEADER_LENGTH 4         /* u32 in every table's header */
#define HEADER_SIZE 36
#define MADT_LOCAL_APIC_ADDRESS 36
#define MADT_ENTRIES 44

/* MADT entry types and fields (ACPI 6.5, 5.2.12.2, 5.2.12.3, 5.2.12.12). */
#define MADT_LOCAL_APIC 0       /* u8 UID, u8 APIC ID, u32 flags */
#define MADT_IO_APIC 1          /* u8 ID, u8 0, u32 address, u32 GSI base */
#define MADT_LOCAL_X2APIC 9     /* u16 0, u32 x2APIC ID, u32 flags, u32 UID */
#define MADT_ENABLED 1          /* flags bit 0 */

static u32 read32(u64 address) { return *(volatile const u32 *)address; }
static u64 read64(u64 address) { return *(volatile const u64 *)address; }
static u8 read8(u64 address) { return *(volatile const u8 *)address; }

static int sums_to_zero(u64 address, u32 length) {
    u8 sum = 0;
    for (u32 i = 0; i < length; i++) sum = (u8)(sum + read8(address + i));
    return sum == 0;
}

static int has_signature(u64 address, const char *signature, int length) {
    for (int i = 0; i < length; i++)
        if (read8(address + (u64)i) != (u8)signature[i]) return 0;
    return 1;
}

static int valid_rsdp(u64 address) {
    if (!has_signature(address, "RSD PTR ", 8) || !sums_to_zero(address, RSDP_V1_SIZE)) return 0;
    /* Revision 2 and later: the XSDT, and a checksum over the whole structure. */
    return read8(address + RSDP_REVISION) >= 2 && sums_to_zero(address, read32(address + RSDP_LENGTH));
}

static u64 find_rsdp(const u8 *boot_params, int *from_zero_page) {
    u64 given = *(volatile const u64 *)(boot_params + BP_ACPI_RSDP_ADDR);
    if (given && valid_rsdp(given)) {
        *from_zero_page = 1;
        return given;
    }
    *from_zero_page = 0;
    for (u64 address = BIOS_AREA_START; address < BIOS_AREA_END; address += 16)
        if (valid_rsdp(address)) return address;
    return 0;
}

/* A table at `address` with this signature and a good checksum, or 0. */
static int valid_table(u64 address, const char *signature) {
    return address && has_signature(address, signature, 4) && read32(address + HEADER_LENGTH) >= HEADER_SIZE
        && sums_to_zero(address, read32(address + HEADER_LENGTH));
}

static void add_cpu(struct madt_info *info, u32 apic_id) {
    if (info->cpu_count < MAX_CPUS) info->apic_ids[info->cpu_count] = apic_id;
    info->cpu_count++;
}

int acpi_read_madt(const u8 *boot_params, struct madt_info *info) {
    info->rsdp = find_rsdp(boot_params, &info->rsdp_from_zero_page);
    if (!info->rsdp) return ACPI_ABSENT;
    u64 xsdt = read64(info->rsdp + RSDP_XSDT_ADDRESS);
    if (!valid_table(xsdt, "XSDT")) {
        put_string("acpi: the RSDP's XSDT is missing or its checksum is wrong\n");
        return 0;
    }
    u64 madt = 0;
    u32 pointers = (read32(xsdt + HEADER_LENGTH) - HEADER_SIZE) / 8;
    for (u32 i = 0; i < pointers && !madt; i++) {
        u64 table = read64(xsdt + HEADER_SIZE + 8 * i);
        if (valid_table(table, "APIC")) madt = table;
    }
    if (!madt) {
        put_string("acpi: the XSDT lists no valid MADT (\"APIC\")\n");
        return 0;
    }
    info->local_apic = read32(madt + MADT_LOCAL_APIC_ADDRESS);
    u64 end = madt + read32(madt + HEADER_LENGTH);
    for (u64 entry = madt + MADT_ENTRIES; entry + 2 <= end;) {
        u8 type = read8(entry), length = read8(entry + 1);
        if (length < 2 || entry + length > end) {
            put_string("acpi: a MADT entry runs past the table\n");
            return 0;
        }
        if (type == MADT_LOCAL_APIC && length >= 8 && (read32(entry + 4) & MADT_ENABLED)) add_cpu(info, read8(entry + 3));
        if (type == MADT_LOCAL_X2APIC && length >= 16 && (read32(entry + 8) & MADT_ENABLED)) add_cpu(info, read32(entry + 4));
        if (type == MADT_IO_APIC && length >= 12 && !info->io_apic) info->io_apic = read32(entry + 4);
        entry += length;
    }
    return 1;
}
