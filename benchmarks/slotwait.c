/*
 * How long the host's KVM takes to install a VM's memory slot, with no VMM around it,
 * in the two orders a VMM can build its VM in:
 *
 *   irqchip first: KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2, then KVM_SET_USER_MEMORY_REGION
 *   slot first:    KVM_SET_USER_MEMORY_REGION, then KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2
 *
 * each step timed by the wall clock and the thread's CPU clock. Installing a slot waits
 * for a grace period of the VM's SRCU (virt/kvm/kvm_main.c, kvm_swap_active_memslots),
 * and the irqchip and PIT put their devices on KVM's buses just before, each under a
 * grace period of the same SRCU: a wait where the wall clock runs and the CPU's does
 * not. docs/PERFORMANCE.md, "Start-up, a fourth time", has the figures.
 *
 *   cc -O2 -o slotwait benchmarks/slotwait.c
 *   slotwait [MIB [REPEATS]]      (default 128 MiB, 5 repeats of each order)
 *
 *   slotwait: irqchip first: irqchip and PIT 0.06 ms (CPU 0.06), 128 MiB slot 6.62 ms (CPU 0.05)
 *   slotwait: slot first:    128 MiB slot 0.08 ms (CPU 0.07), irqchip and PIT 0.03 ms (CPU 0.03)
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int kvm;
static size_t size;

static double milliseconds(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

static void check(int result, const char *what) {
    if (result < 0) {
        perror(what);
        exit(1);
    }
}

/* Times one step: its wall-clock and CPU milliseconds into `times`. */
struct times { double wall, cpu; };
static struct times started(void) {
    return (struct times){milliseconds(CLOCK_MONOTONIC), milliseconds(CLOCK_THREAD_CPUTIME_ID)};
}
static struct times since(struct times start) {
    return (struct times){milliseconds(CLOCK_MONOTONIC) - start.wall, milliseconds(CLOCK_THREAD_CPUTIME_ID) - start.cpu};
}

static struct times install_slot(int vm, void *ram) {
    struct kvm_userspace_memory_region slot = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = size, .userspace_addr = (unsigned long)ram};
    struct times start = started();
    check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot), "KVM_SET_USER_MEMORY_REGION");
    return since(start);
}

static struct times create_irqchip_and_pit(int vm) {
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    struct times start = started();
    check(ioctl(vm, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
    check(ioctl(vm, KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2");
    return since(start);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 128;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    size = mib << 20;
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    check(kvm, "/dev/kvm");
    for (int i = 0; i < 2 * repeats; i++) {
        int slot_first = i % 2;
        int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        check(vm, "KVM_CREATE_VM");
        check(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000), "KVM_SET_TSS_ADDR");
        void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (ram == MAP_FAILED) check(-1, "mmap");
        if (slot_first) {
            struct times slot = install_slot(vm, ram), chips = create_irqchip_and_pit(vm);
            printf("slotwait: slot first:    %zu MiB slot %.2f ms (CPU %.2f), irqchip and PIT %.2f ms (CPU %.2f)\n",
                   mib, slot.wall, slot.cpu, chips.wall, chips.cpu);
        } else {
            struct times chips = create_irqchip_and_pit(vm), slot = install_slot(vm, ram);
            printf("slotwait: irqchip first: irqchip and PIT %.2f ms (CPU %.2f), %zu MiB slot %.2f ms (CPU %.2f)\n",
                   chips.wall, chips.cpu, mib, slot.wall, slot.cpu);
        }
        close(vm);
        munmap(ram, size);
    }
    return 0;
}
