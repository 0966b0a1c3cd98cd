// CKVM: the C boundary of SwiftVMM.
//
// Why this shim exists: Swift imports C structs and constants, but not function-like
// macros (KVM_RUN is `_IO(KVMIO, 0x80)`) and not variadic functions (ioctl(2) is
// `int ioctl(int, unsigned long, ...)`). This file imports the kernel's own UAPI headers,
// so every struct SwiftVMM shares with the kernel or a guest (kvm_run, kvm_regs,
// boot_params, ...) is the kernel's definition, never a hand-written copy, and exports
// each ioctl number as a constant and ioctl(2) as three non-variadic wrappers.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

// MARK: - ioctl numbers (Documentation/virt/kvm/api.rst, section 4)

// System ioctls, on the /dev/kvm file descriptor.
extern const unsigned long CKVM_GET_API_VERSION;
extern const unsigned long CKVM_CREATE_VM;
extern const unsigned long CKVM_CHECK_EXTENSION;
extern const unsigned long CKVM_GET_VCPU_MMAP_SIZE;
extern const unsigned long CKVM_GET_SUPPORTED_CPUID;
extern const unsigned long CKVM_GET_MSR_INDEX_LIST;

// VM ioctls, on a VM file descriptor.
extern const unsigned long CKVM_CREATE_VCPU;
extern const unsigned long CKVM_SET_USER_MEMORY_REGION;
extern const unsigned long CKVM_SET_TSS_ADDR;
extern const unsigned long CKVM_SET_IDENTITY_MAP_ADDR;
extern const unsigned long CKVM_CREATE_IRQCHIP;
extern const unsigned long CKVM_GET_IRQCHIP;
extern const unsigned long CKVM_SET_IRQCHIP;
extern const unsigned long CKVM_CREATE_PIT2;
extern const unsigned long CKVM_IRQ_LINE;
extern const unsigned long CKVM_IRQ_LINE_STATUS;
extern const unsigned long CKVM_IOEVENTFD;
extern const unsigned long CKVM_IRQFD;
extern const unsigned long CKVM_SET_GSI_ROUTING;
extern const unsigned long CKVM_SIGNAL_MSI;

// vCPU ioctls, on a vCPU file descriptor.
extern const unsigned long CKVM_RUN;
extern const unsigned long CKVM_GET_REGS;
extern const unsigned long CKVM_SET_REGS;
extern const unsigned long CKVM_GET_SREGS;
extern const unsigned long CKVM_SET_SREGS;
extern const unsigned long CKVM_SET_MSRS;
extern const unsigned long CKVM_GET_MSRS;
extern const unsigned long CKVM_SET_CPUID2;
extern const unsigned long CKVM_GET_FPU;
extern const unsigned long CKVM_SET_FPU;
extern const unsigned long CKVM_GET_LAPIC;
extern const unsigned long CKVM_SET_LAPIC;
extern const unsigned long CKVM_GET_MP_STATE;
extern const unsigned long CKVM_SET_MP_STATE;

// MARK: - Block devices (linux/fs.h)

/// BLKGETSIZE64: a block device's size in bytes, into a uint64_t.
extern const unsigned long CKVM_BLKGETSIZE64;

// MARK: - Non-variadic ioctl(2)

/// ioctl(2) with no argument. Returns the ioctl's result; -1 with errno set on failure.
int ckvm_ioctl_none(int fd, unsigned long request);
/// ioctl(2) with an integer argument (KVM_CHECK_EXTENSION, KVM_CREATE_VCPU, KVM_SET_TSS_ADDR).
int ckvm_ioctl_value(int fd, unsigned long request, unsigned long value);
/// ioctl(2) with a pointer argument (most ioctls: a struct the kernel reads or fills).
int ckvm_ioctl_pointer(int fd, unsigned long request, void *_Nonnull argument);

// MARK: - Flexible-array structs
//
// kvm_cpuid2, kvm_msrs and kvm_irq_routing end in a flexible array member, which Swift
// does not import. Where each one's entries begin, as the C compiler lays it out; the
// KVM module's FlexibleArray builds every such ioctl argument from these.
extern const unsigned long CKVM_CPUID2_ENTRIES_OFFSET;
extern const unsigned long CKVM_MSRS_ENTRIES_OFFSET;
extern const unsigned long CKVM_IRQ_ROUTING_ENTRIES_OFFSET;

// MARK: - The host processor

/// Executes CPUID on the host processor with EAX = `function`, ECX = `index`, and stores
/// EAX, EBX, ECX and EDX in `registers`. (KVM does not pass every leaf on: the brand
/// string, for one.)
void ckvm_host_cpuid(unsigned int function, unsigned int index, unsigned int registers[_Nonnull 4]);

// MARK: - kvm_run.immediate_exit

/// Sets kvm_run.immediate_exit with an atomic store. Another thread sets it to stop a
/// vCPU (api.rst 5, "immediate_exit"), while the vCPU's own thread may be entering KVM_RUN.
void ckvm_set_immediate_exit(struct kvm_run *_Nonnull run, unsigned char value);

#endif
