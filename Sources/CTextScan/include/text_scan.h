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

#endif
