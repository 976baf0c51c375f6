#ifndef RBSCAN_CLZO_SHIM_H
#define RBSCAN_CLZO_SHIM_H
#include <lzo/lzo1x.h>
/* lzo_init() is a macro checking struct sizes. */
static inline int rb_lzo_init(void) { return lzo_init(); }
#endif
