/*
 * Exits for the benchmarks (benchmarks/README.md): N MMIO writes to a guest-physical
 * page that no device and no RAM will ever occupy, so each one leaves the guest as
 * KVM_EXIT_MMIO and reaches no device. Its port-I/O twin is testguest.outs=N.
 */
#include "guest.h"

void do_mmio(u64 count) {
    volatile u32 *unbacked = (volatile u32 *)UNBACKED_MMIO;
    for (u64 i = 0; i < count; i++) *unbacked = 0;
    put_string("mmio: ");
    put_decimal(count);
    put_string(" done\n");
}

/* Firecracker's boot timer (Layout.bootTimer): one byte, 123, written where a guest's
 * init writes it through /dev/mem once the guest has booted. */
void boot_timer(void) {
    *(volatile u8 *)BOOT_TIMER = 123;
    put_string("boot timer: written\n");
}
