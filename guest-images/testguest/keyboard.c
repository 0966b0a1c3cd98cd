/*
 * testguest.keyboard: waits for Ctrl-Alt-Del on the i8042's keyboard port, printing a
 * tick line every KEYBOARD_TICK polls meanwhile (so a host can see the guest run, and
 * stop running while it is paused), then returns; main() then resets the machine.
 *
 * Polled: the controller's status register (port 0x64) says when a byte waits in the
 * output buffer (OBF), port 0x60 hands it over. Scan code set 1, as the controller
 * translates by default (IBM PC AT Technical Reference, "Keyboard Scan Codes"): a break
 * code is the make code with bit 7 set; 0xe0 announces an extended key (Delete: e0 53).
 */
#include "guest.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define STATUS_OBF 0x01         /* output buffer full */
#define STATUS_AUX 0x20         /* the byte is from the mouse port */
#define SC_CTRL 0x1d
#define SC_ALT 0x38
#define SC_DELETE 0x53          /* after SC_EXTENDED */
#define SC_EXTENDED 0xe0
#define SC_BREAK 0x80
#define KEYBOARD_TICK 32768u

void keyboard_wait_ctrl_alt_del(void) {
    int ctrl = 0, alt = 0, extended = 0;
    u64 polls = 0, ticks = 0;
    put_string("keyboard: waiting for Ctrl-Alt-Del\n");
    for (;;) {
        u8 status = inb(I8042_STATUS);
        if (++polls % KEYBOARD_TICK == 0) {
            put_string("keyboard: tick ");
            put_decimal(++ticks);
            put_char('\n');
        }
        if (!(status & STATUS_OBF) || (status & STATUS_AUX)) continue;
        u8 code = inb(I8042_DATA);
        put_string("keyboard: scan code ");
        put_hex(code, 2);
        put_char('\n');
        if (code == SC_EXTENDED) { extended = 1; continue; }
        int pressed = !(code & SC_BREAK);
        u8 key = code & (u8)~SC_BREAK;
        if (!extended && key == SC_CTRL) ctrl = pressed;
        if (!extended && key == SC_ALT) alt = pressed;
        if (extended && key == SC_DELETE && pressed && ctrl && alt) {
            put_string("keyboard: Ctrl-Alt-Del\n");
            return;
        }
        extended = 0;
    }
}
