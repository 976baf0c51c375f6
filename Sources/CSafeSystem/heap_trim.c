#include "heap_trim.h"

/* Any libc header defines __GLIBC__ on glibc. */
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void rb_heap_trim(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void rb_heap_fix_mmap_threshold(int bytes) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
#endif
}
