// The running program's GNU build ID, so that caches written by one build are never read by
// another. dl_iterate_phdr reports the main program first.
#define _GNU_SOURCE
#include "build_id.h"

#include <elf.h>
#include <link.h>
#include <string.h>

struct rb_build_id_result {
    unsigned char *out;
    size_t capacity;
    int length;
};

static int rb_build_id_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct rb_build_id_result *result = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_NOTE) continue;
        const unsigned char *base = (const unsigned char *)(info->dlpi_addr + header->p_vaddr);
        size_t offset = 0, end = header->p_memsz;
        while (offset + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) note;
            memcpy(&note, base + offset, sizeof note);
            size_t name = offset + sizeof note;
            size_t desc = name + ((note.n_namesz + 3) & ~(size_t)3);
            size_t next = desc + ((note.n_descsz + 3) & ~(size_t)3);
            if (next > end) break;
            if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && memcmp(base + name, "GNU", 4) == 0) {
                if (note.n_descsz > result->capacity) {
                    result->length = -1;
                } else {
                    memcpy(result->out, base + desc, note.n_descsz);
                    result->length = (int)note.n_descsz;
                }
                return 1;
            }
            offset = next;
        }
    }
    // The first object is the main program: stop whether or not it had the note.
    return 1;
}

int rb_build_id(unsigned char *out, size_t capacity) {
    struct rb_build_id_result result = { out, capacity, 0 };
    dl_iterate_phdr(rb_build_id_callback, &result);
    return result.length;
}
