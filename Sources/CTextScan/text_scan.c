#include "text_scan.h"

#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>
#define RB_TEXT_SCAN_SSE2 1
#endif

/// The key word starting at `i` (its length), in the alternation's order; 0: none. Setting bit 5
/// folds exactly the letters: `b | 0x20` is a lower-case letter only when `b` is that letter in
/// either case.
static size_t word_at(const uint8_t *h, size_t n, size_t i) {
    static const char *const words[] = {"pass", "pwd", "secret", "token", "key"};
    static const size_t lengths[] = {4, 3, 6, 5, 3};
    for (int w = 0; w < 5; w++) {
        size_t length = lengths[w];
        if (length > n - i) continue;
        size_t k = 0;
        while (k < length && (uint8_t)(h[i + k] | 0x20) == (uint8_t)words[w][k]) k++;
        if (k == length) return length;
    }
    return 0;
}

/// Records the key word at `at`, unless a match before it covers `at` (matches do not overlap):
/// 1 when one was recorded.
static int take(const uint8_t *h, size_t n, size_t at, size_t *out, size_t *found, size_t *allowed) {
    if (at < *allowed) return 0;
    size_t length = word_at(h, n, at);
    if (!length) return 0;
    out[(*found)++] = at;
    *allowed = at + length;
    return 1;
}

size_t rb_credential_keywords(const uint8_t *h, size_t n, size_t *out, size_t limit) {
    size_t found = 0, allowed = 0, i = 0;
    if (limit == 0) return 0;
#ifdef RB_TEXT_SCAN_SSE2
    // 16 offsets at a time: a key word's first two letters, case-folded (pa, pw, se, to, ke:
    // 2-3% of text offsets), then the whole word at each.
    const __m128i fold = _mm_set1_epi8(0x20);
    const __m128i p = _mm_set1_epi8('p'), a = _mm_set1_epi8('a'), w = _mm_set1_epi8('w');
    const __m128i s = _mm_set1_epi8('s'), e = _mm_set1_epi8('e'), t = _mm_set1_epi8('t');
    const __m128i o = _mm_set1_epi8('o'), k = _mm_set1_epi8('k');
    for (; n >= 17 && i <= n - 17; i += 16) {
        __m128i first = _mm_or_si128(_mm_loadu_si128((const __m128i *)(h + i)), fold);
        __m128i second = _mm_or_si128(_mm_loadu_si128((const __m128i *)(h + i + 1)), fold);
        __m128i hit = _mm_and_si128(_mm_cmpeq_epi8(first, p), _mm_or_si128(_mm_cmpeq_epi8(second, a), _mm_cmpeq_epi8(second, w)));
        hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(first, s), _mm_cmpeq_epi8(second, e)));
        hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(first, t), _mm_cmpeq_epi8(second, o)));
        hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(first, k), _mm_cmpeq_epi8(second, e)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        while (mask) {
            size_t at = i + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (take(h, n, at, out, &found, &allowed) && found == limit) return found;
        }
    }
#endif
    for (; i < n; i++) {
        if (take(h, n, i, out, &found, &allowed) && found == limit) return found;
    }
    return found;
}

size_t rb_pair_candidates(const uint8_t *h, size_t n, size_t *start, const uint64_t *pairs,
                          uint32_t *out, size_t capacity) {
    size_t found = 0, i = *start;
    if (n < 2) {
        *start = n;
        return 0;
    }
    for (; i + 1 < n; i++) {
        uint32_t key = (uint32_t)h[i] | ((uint32_t)h[i + 1] << 8);
        if ((pairs[key >> 6] >> (key & 63)) & 1) {
            out[found++] = (uint32_t)i;
            if (found == capacity) {
                i++;
                break;
            }
        }
    }
    *start = i;
    return found;
}

size_t rb_triple_candidates(const uint8_t *h, size_t n, size_t *start, const uint64_t *bits,
                            uint32_t *out, size_t capacity) {
    size_t found = 0, i = *start;
    if (n < 3) {
        *start = n;
        return 0;
    }
    for (; i + 2 < n; i++) {
        uint32_t key = rb_triple_key(h[i], h[i + 1], h[i + 2]);
        if ((bits[key >> 6] >> (key & 63)) & 1) {
            out[found++] = (uint32_t)i;
            if (found == capacity) {
                i++;
                break;
            }
        }
    }
    *start = i < n ? i : n;
    if (i + 2 >= n) *start = n;
    return found;
}
