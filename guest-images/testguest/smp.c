/*
 * Starting the application processors the MADT lists, as an operating system does on
 * hardware: INIT, then two start-up IPIs through the local APIC's interrupt command
 * register, 10 ms and 200 us apart (Intel SDM vol. 3A, 9.4.4.1 "Typical BSP
 * Initialization Sequence"; Intel MP specification 1.4, B.4 "Application Processor
 * Startup"). Each AP reports its APIC ID over the console and parks in HLT.
 *
 * Options (testguest.*): nosmp (start no AP), startagain (INIT-SIPI-SIPI the first AP
 * once more), startmissing (start an APIC ID the MADT does not list), ipinowhere (send
 * IPIs to an APIC ID no CPU has), apexit=N (the last AP ends the run through the
 * debug-exit port while the BSP spins), aptriplefault (the last AP triple-faults).
 */
#include "smp.h"

/* Local APIC registers in xAPIC mode (SDM vol. 3A, table 11-1: "Local APIC Register
 * Address Map"). */
#define APIC_ID 0x20            /* bits 31-24 */
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310     /* bits 31-24: destination */
#define ICR_FIXED 0x000         /* delivery modes, bits 10-8 */
#define ICR_NMI 0x400
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LOGICAL (1u << 11)  /* destination mode */
#define ICR_PENDING (1u << 12)  /* delivery status: send pending */
#define ICR_ASSERT (1u << 14)
#define XAPIC_MAX_ID 254        /* 255 is the broadcast ID */
#define TEST_VECTOR 0x40        /* a vector for the IPIs to nowhere */

/* The i8254 PIT's channel 0 as a free-running counter at 1.193182 MHz: the guest's
 * clock for the start-up delays and time-outs (Intel 8254 datasheet: mode 2, counter
 * latch command). */
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define PIT_CHANNEL0_MODE2 0x34 /* channel 0, low then high byte, mode 2, binary */
#define PIT_LATCH_CHANNEL0 0x00
#define PIT_HZ 1193182

#define INIT_DELAY_US 10000     /* after INIT: 10 ms */
#define STARTUP_DELAY_US 200    /* after each SIPI: 200 us */
#define ARRIVAL_TIMEOUT_US 5000000 /* how long an AP may take to report (an emulated CPU is slow) */
#define ABSENT_TIMEOUT_US 200000   /* how long to watch for a CPU that must not come */

#define AP_STACK_SIZE 2048

enum ap_action { AP_PARK, AP_EXIT, AP_TRIPLE_FAULT, AP_CALL };

static u64 apic_base;
static u8 ap_stacks[MAX_CPUS + 1][AP_STACK_SIZE] __attribute__((aligned(16)));

/* Shared with the APs; written under the console lock. */
static volatile u32 console_lock_word;
static volatile u32 arrivals;
static volatile u32 mismatches;
static volatile u32 arrived_ids[MAX_CPUS];
static volatile u32 next_ap_action, next_ap_value;
static void (*volatile next_ap_work)(void);
/* The first AP started, and its stack slot, for smp_run_on_ap(); first_ap is ~0u if none. */
static u32 first_ap = ~0u, first_ap_slot;

/* --- The console lock ----------------------------------------------------------- */

void console_lock(void) {
    for (;;) {
        u32 taken = 1;
        __asm__ volatile("xchgl %0, %1" : "+r"(taken), "+m"(console_lock_word) : : "memory");
        if (!taken) return;
        while (console_lock_word) __asm__ volatile("pause");
    }
}

void console_unlock(void) {
    __asm__ volatile("" : : : "memory");
    console_lock_word = 0;
}

/* --- The local APIC and the clock ----------------------------------------------- */

static u32 apic_read(u32 reg) { return *(volatile u32 *)(apic_base + reg); }
static void apic_write(u32 reg, u32 value) { *(volatile u32 *)(apic_base + reg) = value; }

static void send_ipi(u32 apic_id, u32 command) {
    for (int i = 0; i < 1000 && (apic_read(APIC_ICR_LOW) & ICR_PENDING); i++) __asm__ volatile("pause");
    apic_write(APIC_ICR_HIGH, apic_id << 24);
    apic_write(APIC_ICR_LOW, command);
}

static u16 pit_last;
static u64 pit_ticks;

static u16 pit_read(void) {
    outb(PIT_COMMAND, PIT_LATCH_CHANNEL0);
    u8 low = inb(PIT_CHANNEL0);
    return (u16)(low | inb(PIT_CHANNEL0) << 8);
}

static void pit_start(void) {
    outb(PIT_COMMAND, PIT_CHANNEL0_MODE2);
    outb(PIT_CHANNEL0, 0); /* reload value 0 means 65536 */
    outb(PIT_CHANNEL0, 0);
    pit_last = pit_read();
}

/* Ticks since pit_start(); called at least every 55 ms, so no wrap-around is missed. */
static u64 pit_now(void) {
    u16 now = pit_read();
    pit_ticks += (u16)(pit_last - now); /* it counts down */
    pit_last = now;
    return pit_ticks;
}

static u64 ticks(u64 microseconds) { return microseconds * PIT_HZ / 1000000; }

static void delay(u64 microseconds) {
    u64 end = pit_now() + ticks(microseconds);
    while (pit_now() < end) {
    }
}

/* Waits until `count` APs have arrived; 1 if they did within the time-out. */
static int wait_for_arrivals(u32 count, u64 microseconds) {
    u64 end = pit_now() + ticks(microseconds);
    while (arrivals < count)
        if (pit_now() >= end) return 0;
    return 1;
}

/* --- An application processor ----------------------------------------------------- */

/* Where trampoline.S lands in 64-bit mode, on the stack the BSP gave this AP. */
static void ap_main(void) {
    u32 id = apic_read(APIC_ID) >> 24;
    u32 a, b, c, d, initial, x2apic;
    cpuid(1, &a, &b, &c, &d);
    initial = b >> 24;
    x2apic = id; /* leaf 0xB, where the host's CPUID has it */
    cpuid(0, &a, &b, &c, &d);
    if (a >= 0xb) cpuid(0xb, &a, &b, &c, &d), x2apic = d;
    u32 action = next_ap_action, value = next_ap_value;
    if (action == AP_CALL) {
        next_ap_work();
        for (;;) __asm__ volatile("cli\n\thlt");
    }

    console_lock();
    put_string("smp: CPU with APIC ID ");
    put_decimal(id);
    put_string(" is up (CPUID: initial APIC ID ");
    put_decimal(initial);
    put_string(", x2APIC ID ");
    put_decimal(x2apic);
    put_string(")\n");
    if (initial != id || x2apic != id) {
        put_string("smp: CPUID does not match the local APIC's ID\n");
        mismatches = mismatches + 1;
    }
    arrived_ids[arrivals % MAX_CPUS] = id;
    arrivals = arrivals + 1;
    console_unlock();

    if (action == AP_EXIT) outb(DEBUG_EXIT, (u8)value);
    if (action == AP_TRIPLE_FAULT) triple_fault();
    for (;;) __asm__ volatile("cli\n\thlt");
}

/* --- The boot processor ------------------------------------------------------------- */

static void install_trampoline(void) {
    u8 *copy = (u8 *)TRAMPOLINE_BASE;
    for (const u8 *p = trampoline_start; p < trampoline_end; p++) *copy++ = *p;
    u64 cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    *(volatile u64 *)(TRAMPOLINE_BASE + (trampoline_cr3 - trampoline_start)) = cr3;
    *(volatile u64 *)(TRAMPOLINE_BASE + (trampoline_entry - trampoline_start)) = (u64)ap_main;
}

/* INIT, 10 ms, SIPI, 200 us, SIPI, 200 us: the AP runs from TRAMPOLINE_BASE on stack `slot`. */
static void start_ap(u32 apic_id, u32 slot) {
    *(volatile u64 *)(TRAMPOLINE_BASE + (trampoline_stack - trampoline_start)) = (u64)(ap_stacks[slot] + AP_STACK_SIZE);
    send_ipi(apic_id, ICR_INIT | ICR_ASSERT);
    delay(INIT_DELAY_US);
    for (int i = 0; i < 2; i++) {
        send_ipi(apic_id, ICR_STARTUP | ICR_ASSERT | (TRAMPOLINE_BASE >> 12));
        delay(STARTUP_DELAY_US);
    }
}

static void say(const char *text, u32 number, const char *rest) {
    console_lock();
    put_string(text);
    put_decimal(number);
    put_string(rest);
    console_unlock();
}

/* An APIC ID the MADT does not list and the xAPIC can address, or 0 if none. */
static u32 unlisted_apic_id(const struct madt_info *info) {
    u32 highest = 0;
    for (u32 i = 0; i < info->cpu_count && i < MAX_CPUS; i++)
        if (info->apic_ids[i] > highest) highest = info->apic_ids[i];
    return highest < XAPIC_MAX_ID ? highest + 1 : 0;
}

/* Starts one AP and waits for it; 1 if it arrived. */
static int bring_up(u32 apic_id, u32 slot, u64 timeout) {
    u32 before = arrivals;
    start_ap(apic_id, slot);
    return wait_for_arrivals(before + 1, timeout);
}

static u32 hostile_options(const struct madt_info *info) {
    u32 failures = 0, nowhere = unlisted_apic_id(info);
    if (find_option("testguest.startagain") && first_ap != ~0u) {
        if (bring_up(first_ap, first_ap_slot, ARRIVAL_TIMEOUT_US)) say("smp: APIC ID ", first_ap, " started a second time\n");
        else say("smp: APIC ID ", first_ap, " did not start a second time\n"), failures++;
    }
    if (find_option("testguest.ipinowhere") && nowhere) {
        send_ipi(nowhere, ICR_FIXED | ICR_ASSERT | TEST_VECTOR);
        send_ipi(nowhere, ICR_NMI | ICR_ASSERT);
        send_ipi(nowhere, ICR_STARTUP | ICR_ASSERT | (TRAMPOLINE_BASE >> 12));
        send_ipi(0, ICR_LOGICAL | ICR_FIXED | ICR_ASSERT | TEST_VECTOR); /* logical, empty mask */
        say("smp: sent fixed, NMI, start-up and empty logical IPIs to APIC ID ", nowhere, ", which no CPU has\n");
    }
    if (find_option("testguest.startmissing") && nowhere) {
        if (bring_up(nowhere, MAX_CPUS, ABSENT_TIMEOUT_US)) say("smp: APIC ID ", nowhere, " started, but the MADT does not list it\n"), failures++;
        else say("smp: APIC ID ", nowhere, ", which the MADT does not list, did not start\n");
    }
    return failures;
}

static u32 smp_start(const struct madt_info *info) {
    apic_base = info->local_apic;
    u32 self = apic_read(APIC_ID) >> 24, listed = info->cpu_count < MAX_CPUS ? info->cpu_count : MAX_CPUS;
    if (find_option("testguest.nosmp")) {
        put_string("smp: not starting the other CPUs (testguest.nosmp)\n");
        return 1;
    }
    install_trampoline();
    pit_start();

    const char *option;
    u32 action = AP_PARK, value = 0;
    if ((option = find_option("testguest.apexit"))) action = AP_EXIT, value = (u32)option_value(option, 0);
    if (find_option("testguest.aptriplefault")) action = AP_TRIPLE_FAULT;

    u32 running = 1, failures = 0, last_ap = ~0u;
    for (u32 i = 0; i < listed; i++)
        if (info->apic_ids[i] != self && info->apic_ids[i] <= XAPIC_MAX_ID) last_ap = info->apic_ids[i];
    for (u32 i = 0; i < listed; i++) {
        u32 id = info->apic_ids[i];
        if (id == self) continue;
        if (id > XAPIC_MAX_ID) {
            say("smp: APIC ID ", id, " needs x2APIC mode; not started\n");
            failures++;
            continue;
        }
        if (id == last_ap) next_ap_action = action, next_ap_value = value;
        if (bring_up(id, i, ARRIVAL_TIMEOUT_US)) {
            running++;
            if (first_ap == ~0u) first_ap = id, first_ap_slot = i;
        } else {
            say("smp: APIC ID ", id, " did not start\n");
            failures++;
        }
    }
    if (action != AP_PARK && last_ap != ~0u) {
        say("smp: the boot processor spins; APIC ID ", last_ap, " ends the run\n");
        for (;;) {
        }
    }
    failures += hostile_options(info) + mismatches;
    console_lock();
    put_string("  CPUs: ");
    put_decimal(running);
    put_string(" of ");
    put_decimal(info->cpu_count);
    put_string(failures ? " running, with failures\n" : " running\n");
    console_unlock();
    return failures ? 0 : running;
}

int smp_run_on_ap(void (*work)(void)) {
    if (first_ap == ~0u) return 0;
    next_ap_work = work;
    next_ap_action = AP_CALL;
    start_ap(first_ap, first_ap_slot);
    return 1;
}

int smp_main(const u8 *boot_params) {
    static struct madt_info info;
    int found = acpi_read_madt(boot_params, &info);
    if (found == ACPI_ABSENT) {
        /* A PC without ACPI tables: as Linux does, run on the boot CPU alone. */
        put_string("  CPUs: no ACPI tables (no RSDP in the zero page or the BIOS area); the boot CPU only\n");
        return 1;
    }
    if (!found) return 0;
    put_string("  CPUs: ");
    put_decimal(info.cpu_count);
    put_string(" in the ACPI MADT (RSDP at ");
    put_hex(info.rsdp, 8);
    put_string(info.rsdp_from_zero_page ? " from the zero page), APIC IDs" : " found in the BIOS area), APIC IDs");
    for (u32 i = 0; i < info.cpu_count && i < MAX_CPUS; i++) put_char(' '), put_decimal(info.apic_ids[i]);
    put_char('\n');
    return smp_start(&info) != 0;
}
