#ifndef RBSCAN_CDEFLATE_SHIM_H
#define RBSCAN_CDEFLATE_SHIM_H
#include <stddef.h>
#include <libdeflate.h>

/* One zlib-framed (RFC 1950) block, decoded whole into `out` by libdeflate: what a squashfs gzip
   block is. `context` is a libdeflate decompressor, used by one thread at a time. Returns the
   decoded length, or -1 when the block is corrupt, its checksum is wrong or it does not fit. */
static inline long rb_deflate_zlib_block(void *context, const unsigned char *in, unsigned int size,
                                         unsigned char *out, unsigned int outsize) {
    size_t produced = 0;
    enum libdeflate_result r = libdeflate_zlib_decompress((struct libdeflate_decompressor *)context,
                                                          in, size, out, outsize, &produced);
    return r == LIBDEFLATE_SUCCESS ? (long)produced : -1;
}

static inline void *rb_deflate_decompressor_new(void) { return libdeflate_alloc_decompressor(); }
static inline void rb_deflate_decompressor_free(void *context) {
    libdeflate_free_decompressor((struct libdeflate_decompressor *)context);
}
#endif
