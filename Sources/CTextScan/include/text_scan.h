#ifndef RBSCAN_TEXT_SCAN_H
#define RBSCAN_TEXT_SCAN_H

#include <stddef.h>
#include <stdint.h>

/// Where the credential key words start in `data` (`n` bytes), as the regex
/// `(?i)pass|pwd|secret|token|key` finds them with ASCII case folding: leftmost, non-overlapping,
/// the alternation's order at each offset. Writes at most `limit` offsets, ascending, to `out`
/// and returns how many. (PCRE2's UTF mode also folds k and s onto U+212A and U+017F: the caller
/// hands a file holding either to the regex.)
size_t rb_credential_keywords(const uint8_t *data, size_t n, size_t *out, size_t limit);

/// Offsets `i` in `[*start, n - 1)` whose two bytes `data[i] | data[i + 1] << 8` have their bit
/// set in `pairs` (65,536 bits, 8 KiB: it stays in the L1 cache, where a table of buckets did
/// not). Writes at most `capacity` offsets, ascending, to `out`, returns how many, and leaves
/// `*start` where the next call goes on (n - 1 or more: done).
size_t rb_pair_candidates(const uint8_t *data, size_t n, size_t *start, const uint64_t *pairs,
                          uint32_t *out, size_t capacity);

/// The bit `rb_triple_candidates` tests for the three bytes `a`, `b`, `c` (a hash to 16 bits).
static inline uint32_t rb_triple_key(uint8_t a, uint8_t b, uint8_t c) {
    return (((uint32_t)a | ((uint32_t)b << 8) | ((uint32_t)c << 16)) * 0x9E3779B1u) >> 16;
}

/// As `rb_pair_candidates`, for offsets in `[*start, n - 2)` whose three bytes' key
/// (`rb_triple_key`) has its bit set in `bits` (65,536 bits): for sets of names of three bytes
/// or more, whose first three bytes are far rarer in text than their first two.
size_t rb_triple_candidates(const uint8_t *data, size_t n, size_t *start, const uint64_t *bits,
                            uint32_t *out, size_t capacity);

#endif
