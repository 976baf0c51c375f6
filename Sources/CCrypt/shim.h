#ifndef RBSCAN_CCRYPT_SHIM_H
#define RBSCAN_CCRYPT_SHIM_H
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

/* struct crypt_data is about 32 KiB: allocate it zeroed on the heap, one per thread. */
static inline struct crypt_data *rb_crypt_data_new(void) { return (struct crypt_data *)calloc(1, sizeof(struct crypt_data)); }
static inline void rb_crypt_data_free(struct crypt_data *data) { free(data); }

/* 1 when crypt(password, setting) reproduces `hash` exactly, 0 when not, -1 when the setting is
   not a hash libxcrypt can compute. */
static inline int rb_crypt_matches(const char *password, const char *hash, struct crypt_data *data) {
    const char *out = crypt_rn(password, hash, data, (int)sizeof(struct crypt_data));
    if (out == NULL || out[0] == '*') return -1;
    return strcmp(out, hash) == 0 ? 1 : 0;
}
#endif
