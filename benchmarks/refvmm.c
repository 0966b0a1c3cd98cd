/*
 * refvmm: the C reference the benchmarks measure SwiftVMM against.
 *
 *   refvmm [-m MIB] KERNEL.elf [COMMAND-LINE]
 *
 * A minimal KVM VMM in plain C, doing what SwiftVMM does to boot an ELF kernel and
 * nothing less: the same VM set-up (in-kernel irqchip and PIT, TSS and identity-map
 * pages), the same guest memory map, the same 64-bit boot protocol (ELF PT_LOAD
 * segments, a zero page with the command line and e820 map, identity page tables, a
 * boot GDT, long-mode registers), the same CPUID, MSRs, FPU and local APIC set-up.
 * Its devices are the least a guest's console and exit need: an output-only UART
 * (THR to stdout, LSR always "transmitter empty"), isa-debug-exit at 0xf4, the i8042
 * reset command, and nothing else (other port writes and all MMIO are ignored, reads
 * float high). One vCPU, run on the main thread.
 *
 * Exit status, as SwiftVMM's: 0 on reset, (v << 1) | 1 after the guest wrote v to
 * port 0xf4, 6 when the guest crashed, 4 when the host could not run it.
 */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The guest memory map of Sources/GuestMemory/Layout.swift. */
#define GDT_ADDR 0x500
#define IDT_ADDR 0x540
#define ZERO_PAGE 0x7000
#define BOOT_STACK_TOP 0x8ff0
#define PAGE_TABLES 0x9000 /* PML4, PDPT, 4 page directories of 2 MiB pages */
#define CMDLINE_ADDR 0x20000
#define CMDLINE_MAX 2047
#define EBDA_START 0x9fc00
#define KERNEL_START 0x100000
#define MMIO_HOLE 0xc0000000ULL
#define HIGH_RAM 0x100000000ULL
#define KVM_IDENTITY_MAP 0xfffbc000ULL
#define KVM_TSS 0xfffbd000ULL
#define E820_RAM 1
#define E820_RESERVED 2

#define COM1 0x3f8
#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE_TEMT 0x60
#define DEBUG_EXIT 0xf4
#define I8042_COMMAND 0x64
#define I8042_RESET 0xfe

static int kvm, vm, vcpu;
static uint8_t *ram;
static uint64_t ram_size;

static void die(const char *what) {
    fprintf(stderr, "refvmm: %s: %s\n", what, strerror(errno));
    exit(4);
}

static int check(int result, const char *what) {
    if (result < 0) die(what);
    return result;
}

/* Guest physical address to host pointer: RAM is [0, min(size, hole)) then 4 GiB up. */
static void *guest(uint64_t address) {
    return ram + (address < MMIO_HOLE ? address : address - HIGH_RAM + MMIO_HOLE);
}

static void add_e820(struct boot_params *bp, uint64_t start, uint64_t size, uint32_t type) {
    bp->e820_table[bp->e820_entries++] = (struct boot_e820_entry){start, size, type};
}

static uint64_t load_elf(const char *path) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) die(path);
    uint8_t *file = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file == MAP_FAILED) die(path);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)file;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(file + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type == PT_LOAD) memcpy(guest(ph->p_paddr), file + ph->p_offset, ph->p_filesz);
    }
    uint64_t entry = eh->e_entry;
    munmap(file, st.st_size);
    close(fd);
    return entry;
}

static void setup_boot_data(const char *cmdline) {
    uint64_t low_end = ram_size < MMIO_HOLE ? ram_size : MMIO_HOLE;
    struct boot_params *bp = guest(ZERO_PAGE);
    bp->hdr.boot_flag = 0xaa55;
    bp->hdr.header = 0x53726448; /* "HdrS" */
    bp->hdr.version = 0x020f;
    bp->hdr.kernel_alignment = 0x200000;
    bp->hdr.type_of_loader = 0xff;
    bp->hdr.vid_mode = 0xffff;
    bp->hdr.cmd_line_ptr = CMDLINE_ADDR;
    bp->hdr.cmdline_size = CMDLINE_MAX;
    strncpy(guest(CMDLINE_ADDR), cmdline, CMDLINE_MAX);
    add_e820(bp, 0, EBDA_START, E820_RAM);
    add_e820(bp, EBDA_START, KERNEL_START - EBDA_START, E820_RESERVED);
    add_e820(bp, KERNEL_START, low_end - KERNEL_START, E820_RAM);
    add_e820(bp, KVM_IDENTITY_MAP, 0x4000, E820_RESERVED);
    if (ram_size > MMIO_HOLE) add_e820(bp, HIGH_RAM, ram_size - MMIO_HOLE, E820_RAM);

    uint64_t *gdt = guest(GDT_ADDR);
    gdt[2] = 0x00af9b000000ffff; /* 0x10: 64-bit code */
    gdt[3] = 0x00cf93000000ffff; /* 0x18: data */
    gdt[4] = 0x008f8b000000ffff; /* 0x20: busy 64-bit TSS */

    uint64_t *pml4 = guest(PAGE_TABLES), *pdpt = pml4 + 512, *pd = pdpt + 512;
    pml4[0] = (PAGE_TABLES + 0x1000) | 3;
    for (int i = 0; i < 4; i++) pdpt[i] = (PAGE_TABLES + 0x2000 + i * 0x1000) | 3;
    for (uint64_t i = 0; i < 4 * 512; i++) pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, uint8_t s, uint8_t l, uint8_t db) {
    return (struct kvm_segment){.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                                .present = 1, .s = s, .l = l, .db = db, .g = 1};
}

static void setup_vcpu(uint64_t entry) {
    struct { struct kvm_cpuid2 header; struct kvm_cpuid_entry2 entries[256]; } cpuid = {.header.nent = 256};
    check(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid), "KVM_GET_SUPPORTED_CPUID");
    for (uint32_t i = 0; i < cpuid.header.nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid.entries[i];
        if (e->function == 1) e->ebx = (e->ebx & 0xffff) | (1 << 16); /* APIC ID 0, 1 CPU */
        if (e->function == 0xb || e->function == 0x1f) e->edx = 0;   /* x2APIC ID 0 */
    }
    check(ioctl(vcpu, KVM_SET_CPUID2, &cpuid), "KVM_SET_CPUID2");

    static const uint32_t msr_index[] = {0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083,
                                         0xc0000084, 0xc0000102, 0x10, 0x1a0, 0x2ff};
    static const uint64_t msr_value[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x806};
    struct { struct kvm_msrs header; struct kvm_msr_entry entries[11]; } msrs = {.header.nmsrs = 11};
    for (int i = 0; i < 11; i++) msrs.entries[i] = (struct kvm_msr_entry){.index = msr_index[i], .data = msr_value[i]};
    if (check(ioctl(vcpu, KVM_SET_MSRS, &msrs), "KVM_SET_MSRS") != 11) die("KVM_SET_MSRS (partial)");

    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    check(ioctl(vcpu, KVM_SET_FPU, &fpu), "KVM_SET_FPU");

    struct kvm_lapic_state lapic; /* LINT0 ExtINT, LINT1 NMI: the virtual wire */
    check(ioctl(vcpu, KVM_GET_LAPIC, &lapic), "KVM_GET_LAPIC");
    uint32_t *lint0 = (uint32_t *)&lapic.regs[0x350], *lint1 = (uint32_t *)&lapic.regs[0x360];
    *lint0 = (*lint0 & ~0x10700u) | 0x700;
    *lint1 = (*lint1 & ~0x10700u) | 0x400;
    check(ioctl(vcpu, KVM_SET_LAPIC, &lapic), "KVM_SET_LAPIC");

    struct kvm_sregs sregs;
    check(ioctl(vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
    sregs.cs = segment(0x10, 0xb, 1, 1, 0);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = segment(0x18, 0x3, 1, 0, 1);
    sregs.tr = segment(0x20, 0xb, 0, 0, 0);
    sregs.gdt = (struct kvm_dtable){.base = GDT_ADDR, .limit = 5 * 8 - 1};
    sregs.idt = (struct kvm_dtable){.base = IDT_ADDR, .limit = 0};
    sregs.cr0 = 0x80000011; /* PG, ET, PE */
    sregs.cr3 = PAGE_TABLES;
    sregs.cr4 = 0x20;       /* PAE */
    sregs.efer = 0x500;     /* LMA, LME */
    check(ioctl(vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");

    struct kvm_regs regs = {.rip = entry, .rsp = BOOT_STACK_TOP, .rbp = BOOT_STACK_TOP,
                            .rsi = ZERO_PAGE, .rflags = 2};
    check(ioctl(vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

/* One port access; returns -1 to go on, or the exit status. */
static int port_io(struct kvm_run *run, uint8_t *data) {
    static uint8_t lcr;
    uint16_t port = run->io.port;
    if (run->io.direction == KVM_EXIT_IO_OUT) {
        if (port == COM1 && !(lcr & UART_LCR_DLAB)) {
            if (write(STDOUT_FILENO, data, 1) < 0) { /* a closed stdout: keep running */ }
        } else if (port == COM1 + 3) {
            lcr = data[0];
        } else if (port == DEBUG_EXIT) {
            return (data[0] << 1) | 1;
        } else if (port == I8042_COMMAND && data[0] == I8042_RESET) {
            return 0;
        }
    } else {
        memset(data, port == COM1 + 5 ? UART_LSR_THRE_TEMT : 0xff, run->io.size);
    }
    return -1;
}

int main(int argc, char **argv) {
    ram_size = 512ULL << 20;
    if (argc > 2 && !strcmp(argv[1], "-m")) ram_size = strtoull(argv[2], NULL, 0) << 20, argc -= 2, argv += 2;
    if (argc < 2) {
        fprintf(stderr, "usage: refvmm [-m MIB] KERNEL.elf [COMMAND-LINE]\n");
        return 2;
    }
    kvm = check(open("/dev/kvm", O_RDWR | O_CLOEXEC), "/dev/kvm");
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) die("KVM API version");
    vm = check(ioctl(kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM");
    uint64_t identity_map = KVM_IDENTITY_MAP;
    check(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity_map), "KVM_SET_IDENTITY_MAP_ADDR");
    check(ioctl(vm, KVM_SET_TSS_ADDR, KVM_TSS), "KVM_SET_TSS_ADDR");

    /* Guest RAM before the irqchip and PIT, as SwiftVMM (benchmarks/slotwait.c). */
    ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) die("mmap guest RAM");
    uint64_t low = ram_size < MMIO_HOLE ? ram_size : MMIO_HOLE;
    struct kvm_userspace_memory_region region = {0, 0, 0, low, (uint64_t)ram};
    check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region), "KVM_SET_USER_MEMORY_REGION");
    if (ram_size > MMIO_HOLE) {
        region = (struct kvm_userspace_memory_region){1, 0, HIGH_RAM, ram_size - low, (uint64_t)ram + low};
        check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region), "KVM_SET_USER_MEMORY_REGION");
    }
    check(ioctl(vm, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    check(ioctl(vm, KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2");
    uint64_t entry = load_elf(argv[1]);
    setup_boot_data(argc > 2 ? argv[2] : "");

    vcpu = check(ioctl(vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU");
    int run_size = check(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");
    setup_vcpu(entry);

    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            die("KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            for (uint32_t i = 0; i < run->io.count; i++) {
                int status = port_io(run, (uint8_t *)run + run->io.data_offset + i * run->io.size);
                if (status >= 0) return status;
            }
            break;
        case KVM_EXIT_MMIO:
            if (!run->mmio.is_write) memset(run->mmio.data, 0xff, run->mmio.len);
            break;
        case KVM_EXIT_HLT:
            break;
        case KVM_EXIT_SYSTEM_EVENT:
            return 0;
        case KVM_EXIT_SHUTDOWN:
        case KVM_EXIT_INTERNAL_ERROR:
        case KVM_EXIT_FAIL_ENTRY:
            fprintf(stderr, "refvmm: the guest crashed (exit reason %u)\n", run->exit_reason);
            return 6;
        default:
            fprintf(stderr, "refvmm: unexpected exit reason %u\n", run->exit_reason);
            return 4;
        }
    }
}
