#ifndef RBSCAN_BUILD_ID_H
#define RBSCAN_BUILD_ID_H

#include <stddef.h>

/// Copies the running program's GNU build ID (the NT_GNU_BUILD_ID note of the main executable,
/// read from its loaded PT_NOTE segments) into `out`, at most `capacity` bytes. Returns its
/// length, 0 when the program has none, or -1 when it does not fit.
int rb_build_id(unsigned char *out, size_t capacity);

#endif
