#ifndef RBSCAN_LITERAL_SCAN_H
#define RBSCAN_LITERAL_SCAN_H

#include <stddef.h>
#include <stdint.h>

/// Whether `needle` (`m` bytes) occurs in `data` (`n` bytes). Case-sensitive: glibc's memmem.
/// With `caseless`, ASCII letters match in either case: `needle` is given in lower case, and
/// `anchor` is the index of its rarest byte, whose occurrences (both cases) are found with
/// memchr before the rest is compared.
int rb_literal_present(const uint8_t *data, size_t n, const uint8_t *needle, size_t m, size_t anchor, int caseless);

#endif
