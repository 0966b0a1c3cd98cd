// CUAPI: the Linux UAPI headers that describe what guests and devices see, with no KVM in
// them: the boot protocol's boot_params and e820 entries, ELF headers, PCI configuration
// registers and the virtio structures and constants. The device, virtio and boot layers
// import these and nothing else of C, so they cannot reach an ioctl (that is CKVM's).
// Swift imports every struct and constant here as the kernel defines it; nothing is
// re-declared by hand.
#ifndef CUAPI_H
#define CUAPI_H

#include <asm/bootparam.h>
#include <asm/e820.h>
#include <linux/elf.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#endif
