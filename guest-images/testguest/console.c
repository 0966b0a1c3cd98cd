/*
 * The serial console: a 16550A at COM1, driven by polling (PC16550D datasheet).
 */
#include "guest.h"

#define THR 0       /* transmitter holding register (write) */
#define RBR 0       /* receiver buffer register (read) */
#define DLL 0       /* divisor latch, low byte (LCR.DLAB = 1) */
#define IER 1       /* interrupt enable register */
#define DLM 1       /* divisor latch, high byte (LCR.DLAB = 1) */
#define FCR 2       /* FIFO control register */
#define LCR 3       /* line control register */
#define MCR 4       /* modem control register */
#define LSR 5       /* line status register */

#define LCR_DLAB 0x80       /* divisor latch access */
#define LCR_8N1 0x03        /* 8 data bits, no parity, 1 stop bit */
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear receive and transmit FIFOs */
#define MCR_DTR_RTS 0x03
#define LSR_DR 0x01         /* data ready */
#define LSR_THRE 0x20       /* transmitter holding register empty */

void console_init(void) {
    outb(COM1 + IER, 0);            /* polling: no interrupts */
    outb(COM1 + LCR, LCR_DLAB);
    outb(COM1 + DLL, 1);            /* 115200 baud */
    outb(COM1 + DLM, 0);
    outb(COM1 + LCR, LCR_8N1);
    outb(COM1 + FCR, FCR_ENABLE_CLEAR);
    outb(COM1 + MCR, MCR_DTR_RTS);
}

static void transmit(char c) {
    while (!(inb(COM1 + LSR) & LSR_THRE)) {
    }
    outb(COM1 + THR, (u8)c);
}

void put_char(char c) {
    if (c == '\n') transmit('\r');
    transmit(c);
}

void put_string(const char *s) {
    while (*s) put_char(*s++);
}

void put_hex(u64 value, int digits) {
    put_string("0x");
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) put_char("0123456789abcdef"[(value >> shift) & 0xf]);
}

void put_decimal(u64 value) {
    char buffer[21];
    int i = 20;
    buffer[i] = 0;
    do {
        buffer[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    put_string(&buffer[i]);
}

int console_read(void) {
    while (!(inb(COM1 + LSR) & LSR_DR)) {
    }
    return inb(COM1 + RBR);
}
