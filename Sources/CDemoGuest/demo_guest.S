// The test guest's ELF image, as read-only data (see include/CDemoGuest.h).
// guest-images/testguest/build.sh writes testguest.elf there and here.
    .section .rodata.cdemoguest, "a"
    .balign 16
    .globl cdemoguest_start
    .globl cdemoguest_end
cdemoguest_start:
    .incbin "testguest.elf"
cdemoguest_end:
    .section .note.GNU-stack, "", @progbits
