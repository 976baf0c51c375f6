#ifndef RBSCAN_CZLIB_SHIM_H
#define RBSCAN_CZLIB_SHIM_H
#include <zlib.h>
/* inflateInit2 is a macro (it passes the library version and struct size). */
static inline int rb_inflate_init2(z_stream *stream, int window_bits) { return inflateInit2(stream, window_bits); }
#endif
