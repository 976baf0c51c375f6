// MD5 (RFC 1321) of several messages at once, one message per 32-bit vector lane: the
// read-ahead pass hashes every file a package manifest lists (a Debian root: 4,700 files,
// 116 MB), and one MD5 is a chain of dependent additions that leaves most of a core idle.
// Sixteen (AVX-512F) or eight (AVX2) independent chains fill it. Written here because the
// libraries that do this (Intel's isa-l_crypto) are not packaged in Debian 12 and OpenSSL has
// no multi-message MD5. The round structure is the RFC's; the vector code is plain C vector
// arithmetic compiled for each instruction set, with the message words transposed from the
// lanes' blocks by unpack/shuffle intrinsics.

#include "md5_lanes.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define RB_MD5_VECTORS 1
#endif

// K[i] = floor(|sin(i + 1)| * 2^32) (RFC 1321, 3.4).
static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};


// The four rounds of one block over whatever type a, b, c, d and M[] are (a scalar or a vector
// of lanes): 64 steps a = b + ((a + f(b, c, d) + M[g] + K[i]) <<< s).
#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define F(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define G(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define H(b, c, d) ((b) ^ (c) ^ (d))
#define I(b, c, d) ((c) ^ ((b) | ~(d)))
#define STEP(f, a, b, c, d, g, i, s) a = (b) + ROTL((a) + f(b, c, d) + M[g] + K[i], s)
#define ROUNDS(a, b, c, d)                                                                     \
    STEP(F, a, b, c, d, 0, 0, 7);   STEP(F, d, a, b, c, 1, 1, 12);  STEP(F, c, d, a, b, 2, 2, 17);   \
    STEP(F, b, c, d, a, 3, 3, 22);  STEP(F, a, b, c, d, 4, 4, 7);   STEP(F, d, a, b, c, 5, 5, 12);   \
    STEP(F, c, d, a, b, 6, 6, 17);  STEP(F, b, c, d, a, 7, 7, 22);  STEP(F, a, b, c, d, 8, 8, 7);    \
    STEP(F, d, a, b, c, 9, 9, 12);  STEP(F, c, d, a, b, 10, 10, 17); STEP(F, b, c, d, a, 11, 11, 22); \
    STEP(F, a, b, c, d, 12, 12, 7); STEP(F, d, a, b, c, 13, 13, 12); STEP(F, c, d, a, b, 14, 14, 17); \
    STEP(F, b, c, d, a, 15, 15, 22);                                                            \
    STEP(G, a, b, c, d, 1, 16, 5);  STEP(G, d, a, b, c, 6, 17, 9);  STEP(G, c, d, a, b, 11, 18, 14); \
    STEP(G, b, c, d, a, 0, 19, 20); STEP(G, a, b, c, d, 5, 20, 5);  STEP(G, d, a, b, c, 10, 21, 9);  \
    STEP(G, c, d, a, b, 15, 22, 14); STEP(G, b, c, d, a, 4, 23, 20); STEP(G, a, b, c, d, 9, 24, 5);  \
    STEP(G, d, a, b, c, 14, 25, 9); STEP(G, c, d, a, b, 3, 26, 14); STEP(G, b, c, d, a, 8, 27, 20);  \
    STEP(G, a, b, c, d, 13, 28, 5); STEP(G, d, a, b, c, 2, 29, 9);  STEP(G, c, d, a, b, 7, 30, 14);  \
    STEP(G, b, c, d, a, 12, 31, 20);                                                            \
    STEP(H, a, b, c, d, 5, 32, 4);  STEP(H, d, a, b, c, 8, 33, 11); STEP(H, c, d, a, b, 11, 34, 16); \
    STEP(H, b, c, d, a, 14, 35, 23); STEP(H, a, b, c, d, 1, 36, 4); STEP(H, d, a, b, c, 4, 37, 11);  \
    STEP(H, c, d, a, b, 7, 38, 16); STEP(H, b, c, d, a, 10, 39, 23); STEP(H, a, b, c, d, 13, 40, 4); \
    STEP(H, d, a, b, c, 0, 41, 11); STEP(H, c, d, a, b, 3, 42, 16); STEP(H, b, c, d, a, 6, 43, 23);  \
    STEP(H, a, b, c, d, 9, 44, 4);  STEP(H, d, a, b, c, 12, 45, 11); STEP(H, c, d, a, b, 15, 46, 16); \
    STEP(H, b, c, d, a, 2, 47, 23);                                                             \
    STEP(I, a, b, c, d, 0, 48, 6);  STEP(I, d, a, b, c, 7, 49, 10); STEP(I, c, d, a, b, 14, 50, 15); \
    STEP(I, b, c, d, a, 5, 51, 21); STEP(I, a, b, c, d, 12, 52, 6); STEP(I, d, a, b, c, 3, 53, 10);  \
    STEP(I, c, d, a, b, 10, 54, 15); STEP(I, b, c, d, a, 1, 55, 21); STEP(I, a, b, c, d, 8, 56, 6);  \
    STEP(I, d, a, b, c, 15, 57, 10); STEP(I, c, d, a, b, 6, 58, 15); STEP(I, b, c, d, a, 13, 59, 21); \
    STEP(I, a, b, c, d, 4, 60, 6);  STEP(I, d, a, b, c, 11, 61, 10); STEP(I, c, d, a, b, 2, 62, 15); \
    STEP(I, b, c, d, a, 9, 63, 21)

#if RB_MD5_VECTORS
// What an idle lane reads (its result is discarded).
static const uint8_t idle_block[64] __attribute__((aligned(64)));

typedef uint32_t v16u32 __attribute__((ext_vector_type(16)));
typedef uint32_t v8u32 __attribute__((ext_vector_type(8)));

// Sixteen lanes: each lane's 64-byte block is one zmm row; the 16x16 transpose of 32-bit words
// makes M[w] hold word w of every lane (lane i in element i).
__attribute__((target("avx512f")))
static void blocks16(rb_md5_lanes *lanes, const uint8_t *const data[RB_MD5_MAX_LANES], size_t blocks) {
    const uint8_t *p[16];
    size_t step[16];
    for (int i = 0; i < 16; i++) {
        p[i] = data[i] ? data[i] : idle_block;
        step[i] = data[i] ? 64 : 0;
    }
    v16u32 a, b, c, d;
    memcpy(&a, lanes->state[0], 64);
    memcpy(&b, lanes->state[1], 64);
    memcpy(&c, lanes->state[2], 64);
    memcpy(&d, lanes->state[3], 64);
    for (size_t n = 0; n < blocks; n++) {
        __m512i r[16], t[16], u[16];
        for (int i = 0; i < 16; i++) {
            r[i] = _mm512_loadu_si512((const void *)p[i]);
            p[i] += step[i];
        }
        // Within each 128-bit quarter q: t pairs rows, u gathers column 4q + k of four rows.
        for (int g = 0; g < 4; g++) {
            __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
            __m512i t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
            __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
            __m512i t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
            u[4 * g + 0] = _mm512_unpacklo_epi64(t0, t2);
            u[4 * g + 1] = _mm512_unpackhi_epi64(t0, t2);
            u[4 * g + 2] = _mm512_unpacklo_epi64(t1, t3);
            u[4 * g + 3] = _mm512_unpackhi_epi64(t1, t3);
        }
        // u[4g + k] quarter q = word 4q + k of rows 4g..4g+3: a 4x4 transpose of quarters.
        v16u32 M[16];
        for (int k = 0; k < 4; k++) {
            __m512i s0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);
            __m512i s1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xEE);
            __m512i s2 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);
            __m512i s3 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xEE);
            t[k] = _mm512_shuffle_i32x4(s0, s2, 0x88);
            t[4 + k] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
            t[8 + k] = _mm512_shuffle_i32x4(s1, s3, 0x88);
            t[12 + k] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
        }
        for (int w = 0; w < 16; w++) M[w] = (v16u32)t[w];
        v16u32 aa = a, bb = b, cc = c, dd = d;
        ROUNDS(a, b, c, d);
        a += aa;
        b += bb;
        c += cc;
        d += dd;
    }
    memcpy(lanes->state[0], &a, 64);
    memcpy(lanes->state[1], &b, 64);
    memcpy(lanes->state[2], &c, 64);
    memcpy(lanes->state[3], &d, 64);
}

// Eight lanes: each lane's block is two ymm rows (words 0-7 and 8-15), transposed 8x8 each.
__attribute__((target("avx2")))
static void transpose8(const __m256i r[8], v8u32 out[8]) {
    __m256i u[8];
    for (int g = 0; g < 2; g++) {
        __m256i t0 = _mm256_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
        __m256i t1 = _mm256_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
        __m256i t2 = _mm256_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
        __m256i t3 = _mm256_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
        u[4 * g + 0] = _mm256_unpacklo_epi64(t0, t2);
        u[4 * g + 1] = _mm256_unpackhi_epi64(t0, t2);
        u[4 * g + 2] = _mm256_unpacklo_epi64(t1, t3);
        u[4 * g + 3] = _mm256_unpackhi_epi64(t1, t3);
    }
    for (int k = 0; k < 4; k++) {
        out[k] = (v8u32)_mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
        out[4 + k] = (v8u32)_mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
    }
}

__attribute__((target("avx2")))
static void blocks8(rb_md5_lanes *lanes, const uint8_t *const data[RB_MD5_MAX_LANES], size_t blocks) {
    const uint8_t *p[8];
    size_t step[8];
    for (int i = 0; i < 8; i++) {
        p[i] = data[i] ? data[i] : idle_block;
        step[i] = data[i] ? 64 : 0;
    }
    v8u32 a, b, c, d;
    memcpy(&a, lanes->state[0], 32);
    memcpy(&b, lanes->state[1], 32);
    memcpy(&c, lanes->state[2], 32);
    memcpy(&d, lanes->state[3], 32);
    for (size_t n = 0; n < blocks; n++) {
        __m256i low[8], high[8];
        for (int i = 0; i < 8; i++) {
            low[i] = _mm256_loadu_si256((const __m256i *)p[i]);
            high[i] = _mm256_loadu_si256((const __m256i *)(p[i] + 32));
            p[i] += step[i];
        }
        v8u32 M[16];
        transpose8(low, M);
        transpose8(high, M + 8);
        v8u32 aa = a, bb = b, cc = c, dd = d;
        ROUNDS(a, b, c, d);
        a += aa;
        b += bb;
        c += cc;
        d += dd;
    }
    memcpy(lanes->state[0], &a, 32);
    memcpy(lanes->state[1], &b, 32);
    memcpy(lanes->state[2], &c, 32);
    memcpy(lanes->state[3], &d, 32);
}

#endif

void rb_md5_lane_blocks(rb_md5_lanes *lanes, int lane, const uint8_t *data, size_t blocks) {
    uint32_t a = lanes->state[0][lane], b = lanes->state[1][lane], c = lanes->state[2][lane], d = lanes->state[3][lane];
    for (size_t n = 0; n < blocks; n++, data += 64) {
        uint32_t M[16];
        memcpy(M, data, 64);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        for (int w = 0; w < 16; w++) M[w] = __builtin_bswap32(M[w]); // MD5's words are little-endian
#endif
        uint32_t aa = a, bb = b, cc = c, dd = d;
        ROUNDS(a, b, c, d);
        a += aa;
        b += bb;
        c += cc;
        d += dd;
    }
    lanes->state[0][lane] = a;
    lanes->state[1][lane] = b;
    lanes->state[2][lane] = c;
    lanes->state[3][lane] = d;
}

int rb_md5_lanes_width(void) {
    static _Atomic int detected = -1;
    int width = detected;
    if (width < 0) {
#if RB_MD5_VECTORS
        __builtin_cpu_init();
        width = __builtin_cpu_supports("avx512f") ? 16 : __builtin_cpu_supports("avx2") ? 8 : 0;
#else
        width = 0;
#endif
        detected = width;
    }
    return width;
}

void rb_md5_lanes_reset(rb_md5_lanes *lanes, int lane) {
    lanes->state[0][lane] = 0x67452301;
    lanes->state[1][lane] = 0xefcdab89;
    lanes->state[2][lane] = 0x98badcfe;
    lanes->state[3][lane] = 0x10325476;
}

void rb_md5_lanes_blocks(rb_md5_lanes *lanes, const uint8_t *const data[RB_MD5_MAX_LANES], size_t blocks, int width) {
    int available = rb_md5_lanes_width();
#if RB_MD5_VECTORS
    if (width == 16 && available >= 16) {
        blocks16(lanes, data, blocks);
        return;
    }
    if (width == 8 && available >= 8) {
        blocks8(lanes, data, blocks);
        return;
    }
#endif
    (void)available;
    {
        // Asked for a width the processor lacks: the same result, one lane at a time.
        for (int i = 0; i < width && i < RB_MD5_MAX_LANES; i++) {
            if (data[i]) rb_md5_lane_blocks(lanes, i, data[i], blocks);
        }
    }
}
