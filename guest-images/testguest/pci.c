/*
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2):
 * CONFIG_ADDRESS at 0xcf8 selects bus/device/function/register, CONFIG_DATA at 0xcfc.
 */
#include "virtio.h"

#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc

static void select_register(u8 device, u8 offset) {
    outl(CONFIG_ADDRESS, 0x80000000u | ((u32)device << 11) | (offset & 0xfc));
}

u32 pci_read32(u8 device, u8 offset) { select_register(device, offset); return inl(CONFIG_DATA); }
u16 pci_read16(u8 device, u8 offset) { select_register(device, offset); return inw(CONFIG_DATA + (offset & 2)); }
u8 pci_read8(u8 device, u8 offset) { select_register(device, offset); return inb(CONFIG_DATA + (offset & 3)); }
void pci_write32(u8 device, u8 offset, u32 value) { select_register(device, offset); outl(CONFIG_DATA, value); }
void pci_write16(u8 device, u8 offset, u16 value) { select_register(device, offset); outw(CONFIG_DATA + (offset & 2), value); }

/* Prints every function on bus 0: "pci: 00:01.0 1af4:1042 class 018000". */
void pci_list(void) {
    for (u8 device = 0; device < 32; device++) {
        u32 id = pci_read32(device, 0x00);
        if ((id & 0xffff) == 0xffff) continue;
        put_string("pci: 00:");
        put_char("0123456789abcdef"[device >> 4]);
        put_char("0123456789abcdef"[device & 15]);
        put_string(".0 ");
        put_hex(id & 0xffff, 4);
        put_char(':');
        put_hex(id >> 16, 4);
        put_string(" class ");
        put_hex(pci_read32(device, 0x08) >> 8, 6);
        put_char('\n');
    }
}
