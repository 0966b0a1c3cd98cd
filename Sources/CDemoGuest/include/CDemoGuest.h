// CDemoGuest: the demo guest's bytes, assembled into the executable.
//
// Why this shim exists: `swiftvmm run` with no --kernel boots the test guest
// (guest-images/testguest/testguest.elf). Assembling the file in with .incbin
// (demo_guest.S) puts its bytes in the executable's read-only data as they are, so the
// demo costs nothing at start: no hex text to decode, no array literal to build.
#ifndef CDEMOGUEST_H
#define CDEMOGUEST_H

/// The first byte of the test guest's ELF image.
const unsigned char *_Nonnull cdemoguest_image(void);
/// Its size in bytes.
unsigned long cdemoguest_image_size(void);

#endif
