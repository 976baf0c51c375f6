#ifndef RBSCAN_HEAP_TRIM_H
#define RBSCAN_HEAP_TRIM_H

/// Returns the free pages of every malloc arena to the system (glibc's malloc_trim(0));
/// nothing elsewhere.
void rb_heap_trim(void);

/// Sets glibc's mmap threshold to `bytes` for good (it otherwise rises to the largest block
/// freed, up to 32 MiB): blocks that large are mapped on their own and unmapped when freed,
/// instead of leaving holes in the heap that the resident size keeps. Nothing elsewhere.
void rb_heap_fix_mmap_threshold(int bytes);

/// Drops the resident pages of the program's relocation table, which only the loader reads, at
/// start-up (2 MB of a static-stdlib binary). Nothing elsewhere, or when there is none.
void rb_release_startup_pages(void);

#endif
