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

/// Whether the two bytes at `at` begin some name (`pairs`: a bit per pair; NULL: any may).
static inline int pair_allowed(const uint8_t *h, size_t at, const uint64_t *pairs) {
    if (pairs == NULL) return 1;
    unsigned key = (unsigned)h[at] << 8 | h[at + 1];
    return (int)((pairs[key >> 6] >> (key & 63)) & 1);
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <tmmintrin.h>

/// SSSE3 (pshufb) is on every x86-64 CPU since 2006, but not in the x86-64 baseline the
/// binary is built for: asked of the CPU once.
static int has_ssse3(void) {
    static int known = -1;
    if (known < 0) {
        unsigned a, b, c, d;
        known = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) ? 1 : 0;
    }
    return known;
}

__attribute__((target("ssse3")))
static size_t teddy_ssse3(const uint8_t *h, size_t n, size_t *start, const uint8_t *masks, int width,
                          const uint64_t *pairs, uint32_t *out, size_t capacity, size_t *next) {
    size_t found = 0, i = *start;
    const __m128i low = _mm_set1_epi8(0x0f), zero = _mm_setzero_si128();
    __m128i lo[3], hi[3];
    for (int k = 0; k < 3; k++) {
        lo[k] = _mm_loadu_si128((const __m128i *)(masks + 16 * k));
        hi[k] = _mm_loadu_si128((const __m128i *)(masks + 48 + 16 * k));
    }
    // A block of 16 offsets reads bytes i .. i + 15 + width - 1.
    for (; i + 16 + (size_t)width - 1 <= n; i += 16) {
        __m128i m = _mm_set1_epi8((char)0xff);
        for (int k = 0; k < width; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(h + i + k));
            __m128i l = _mm_shuffle_epi8(lo[k], _mm_and_si128(v, low));
            __m128i u = _mm_shuffle_epi8(hi[k], _mm_and_si128(_mm_srli_epi16(v, 4), low));
            m = _mm_and_si128(m, _mm_and_si128(l, u));
        }
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(m, zero)) ^ 0xffffu;
        while (bits) {
            size_t at = i + (size_t)__builtin_ctz(bits);
            bits &= bits - 1;
            if (!pair_allowed(h, at, pairs)) continue;
            out[found++] = (uint32_t)at;
            if (found == capacity) {
                *next = at + 1;
                return found;
            }
        }
    }
    *next = i;
    return found;
}
#endif

/// The same test, one offset at a time (other CPUs, and the last offsets of a text).
static size_t teddy_scalar(const uint8_t *h, size_t n, size_t i, const uint8_t *masks, int width,
                           const uint64_t *pairs, uint32_t *out, size_t found, size_t capacity, size_t *next) {
    for (; i + (size_t)width <= n; i++) {
        uint8_t m = 0xff;
        for (int k = 0; k < width; k++) {
            uint8_t b = h[i + k];
            m &= masks[16 * k + (b & 15)] & masks[48 + 16 * k + (b >> 4)];
        }
        if (m && pair_allowed(h, i, pairs)) {
            out[found++] = (uint32_t)i;
            if (found == capacity) {
                *next = i + 1;
                return found;
            }
        }
    }
    *next = n;
    return found;
}

size_t rb_teddy_candidates(const uint8_t *h, size_t n, size_t *start, const uint8_t *masks, int width,
                           const uint64_t *pairs, uint32_t *out, size_t capacity) {
    size_t found = 0, next = *start;
    if (width < 1 || width > 3 || capacity == 0) {
        *start = n;
        return 0;
    }
#if defined(__x86_64__)
    if (has_ssse3()) {
        found = teddy_ssse3(h, n, start, masks, width, pairs, out, capacity, &next);
        if (found == capacity) {
            *start = next;
            return found;
        }
    }
#endif
    found = teddy_scalar(h, n, next, masks, width, pairs, out, found, capacity, &next);
    *start = next;
    return found;
}
