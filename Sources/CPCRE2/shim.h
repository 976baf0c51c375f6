#ifndef RBSCAN_CPCRE2_SHIM_H
#define RBSCAN_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* PCRE2_UNSET is a cast macro, invisible to Swift. */
static inline PCRE2_SIZE rb_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
