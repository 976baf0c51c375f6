#ifndef RBSCAN_MAPPED_FILE_H
#define RBSCAN_MAPPED_FILE_H

#include <stddef.h>

/// Maps `size` bytes of the open file `fd` read-only; NULL when the file cannot be mapped
/// (the caller then reads with pread).
const void *rb_map_file(int fd, size_t size);
void rb_unmap_file(const void *base, size_t size);

/// Copies `n` bytes from a mapping into `dst`. Returns 0, or -1 when the mapping faulted (the
/// file shrank or the device failed under it: SIGBUS) — the process survives and the caller
/// reports an unreadable image instead of crashing.
int rb_mapped_copy(void *dst, const void *src, size_t n);

/// Copies `count` pieces of `length` bytes, one every `stride` bytes from `src`, packed into
/// `dst` (the spare areas of NAND pages, for example). Same result as `rb_mapped_copy`.
int rb_mapped_gather(void *dst, const void *src, size_t stride, size_t length, size_t count);

#endif
