#define _GNU_SOURCE
#include "heap_trim.h"

/* Any libc header defines __GLIBC__ on glibc. */
#include <stdlib.h>
#include <stdint.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* The program's own relocation table (DT_RELA): read once by the loader at start-up, never
   again (lazy PLT binding uses DT_JMPREL, left alone). In a static-stdlib PIE it is 2 MB of
   the read-only segment, kept resident after start-up. Its whole pages are dropped; a page
   would simply be read back from the file if anything touched it again (the segment is
   read-only and never written, so nothing is lost). */
static int drop_program_relocations(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    /* The first object is the program itself. */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
        const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        uintptr_t rela = 0, relasz = 0;
        for (; dyn->d_tag != DT_NULL; dyn++) {
            /* glibc relocates these entries to run-time addresses on x86-64. */
            if (dyn->d_tag == DT_RELA) rela = (uintptr_t)dyn->d_un.d_ptr;
            if (dyn->d_tag == DT_RELASZ) relasz = (uintptr_t)dyn->d_un.d_val;
        }
        if (rela == 0 || relasz == 0) return 1;
        /* Where the loader left it unrelocated (a read-only dynamic section): add the base. */
        if (rela < info->dlpi_addr) rela += info->dlpi_addr;
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t start = (rela + page - 1) & ~(page - 1);
        uintptr_t end = (rela + relasz) & ~(page - 1);
        /* Only within a read-only, non-writable load segment of the program. */
        for (int k = 0; k < info->dlpi_phnum; k++) {
            const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
            if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W)) continue;
            uintptr_t low = info->dlpi_addr + ph->p_vaddr, high = low + ph->p_memsz;
            if (start >= low && end <= high && end > start) madvise((void *)start, end - start, MADV_DONTNEED);
        }
        return 1;
    }
    return 1;
}

void rb_release_startup_pages(void) {
#if defined(__GLIBC__)
    dl_iterate_phdr(drop_program_relocations, NULL);
#endif
}
