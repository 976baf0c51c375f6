#ifndef RBSCAN_TEXT_SCAN_H
#define RBSCAN_TEXT_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include "literal_scan.h"

/// Where the credential key words start in `data` (`n` bytes), as the regex
/// `(?i)pass|pwd|secret|token|key` finds them with ASCII case folding: leftmost, non-overlapping,
/// the alternation's order at each offset. Writes at most `limit` offsets, ascending, to `out`
/// and returns how many. (PCRE2's UTF mode also folds k and s onto U+212A and U+017F: the caller
/// hands a file holding either to the regex.)
size_t rb_credential_keywords(const uint8_t *data, size_t n, size_t *out, size_t limit);

/// Offsets where one of a set of names may start, found 16 at a time (Teddy: each of the first
/// `width` bytes, 2 or 3, is looked up by its low and its high nibble in a 16-entry table of
/// bucket bits; an offset is a candidate when some bucket survives every lookup). `masks` holds
/// `lo[k][16]` for k < 3, then `hi[k][16]` for k < 3. Offsets from `*start` up to `n - width`;
/// writes at most `capacity` to `out`, ascending, returns how many, and leaves `*start` where the
/// next call goes on (past `n - width`: done). With `pairs` (65,536 bits, NULL for none) an
/// offset whose two bytes begin no name is left out. A candidate may hold no name: the caller
/// checks.
size_t rb_teddy_candidates(const uint8_t *data, size_t n, size_t *start, const uint8_t *masks, int width,
                           const uint64_t *pairs, uint32_t *out, size_t capacity);

#endif
