#define _GNU_SOURCE
#include <string.h>
#include "literal_scan.h"

static inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

int rb_literal_present(const uint8_t *data, size_t n, const uint8_t *needle, size_t m, size_t anchor, int caseless) {
    if (m == 0) return 1;
    if (n < m || anchor >= m) return 0;
    if (!caseless) return memmem(data, n, needle, m) != NULL;
    const uint8_t a = needle[anchor];
    const uint8_t upper = (a >= 'a' && a <= 'z') ? (uint8_t)(a - 32) : a;
    /* The anchor byte of a match lies in [data + anchor, data + n - m + anchor]. */
    const uint8_t *from = data + anchor;
    const uint8_t *end = data + (n - m) + anchor + 1;
    const uint8_t *p1 = memchr(from, a, (size_t)(end - from));
    const uint8_t *p2 = upper != a ? memchr(from, upper, (size_t)(end - from)) : NULL;
    while (p1 != NULL || p2 != NULL) {
        const uint8_t *p = (p1 != NULL && (p2 == NULL || p1 < p2)) ? p1 : p2;
        const uint8_t *s = p - anchor;
        size_t k = 0;
        while (k < m && lower(s[k]) == needle[k]) k++;
        if (k == m) return 1;
        if (p == p1) {
            p1 = p1 + 1 < end ? memchr(p1 + 1, a, (size_t)(end - (p1 + 1))) : NULL;
        } else {
            p2 = p2 + 1 < end ? memchr(p2 + 1, upper, (size_t)(end - (p2 + 1))) : NULL;
        }
    }
    return 0;
}
