// Accessors for the bytes demo_guest.S assembles in (see include/CDemoGuest.h).
#include "CDemoGuest.h"

extern const unsigned char cdemoguest_start[];
extern const unsigned char cdemoguest_end[];

const unsigned char *cdemoguest_image(void) { return cdemoguest_start; }

unsigned long cdemoguest_image_size(void) { return (unsigned long)(cdemoguest_end - cdemoguest_start); }
