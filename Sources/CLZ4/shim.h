#ifndef RBSCAN_CLZ4_SHIM_H
#define RBSCAN_CLZ4_SHIM_H
#include <lz4.h>
#include <lz4frame.h>
static inline unsigned rb_lz4f_version(void) { return LZ4F_VERSION; }
#endif
