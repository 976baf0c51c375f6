#ifndef RBSCAN_MD5_LANES_H
#define RBSCAN_MD5_LANES_H

#include <stddef.h>
#include <stdint.h>

/// The most messages one call advances together (AVX-512: 16 lanes of 32 bits).
#define RB_MD5_MAX_LANES 16

/// How many lanes the processor hashes at once: 16 (AVX-512F), 8 (AVX2) or 0 (neither: use a
/// one-message MD5).
int rb_md5_lanes_width(void);

/// The MD5 chaining values of up to 16 messages, one lane each: state[0] holds every lane's A,
/// state[1] B, state[2] C, state[3] D.
typedef struct {
    uint32_t state[4][RB_MD5_MAX_LANES];
} rb_md5_lanes;

/// Sets lane `lane` to MD5's initial value.
void rb_md5_lanes_reset(rb_md5_lanes *lanes, int lane);

/// Advances the first `width` lanes (rb_md5_lanes_width()) by `blocks` 64-byte blocks each:
/// lane i reads blocks * 64 bytes from data[i]. A NULL data[i] is an idle lane, whose state is
/// left meaningless (reset it before giving it a message). Padding is the caller's: it passes
/// the last block(s) of a message with MD5's padding like any other block.
void rb_md5_lanes_blocks(rb_md5_lanes *lanes, const uint8_t *const data[RB_MD5_MAX_LANES], size_t blocks, int width);

/// Advances one lane by `blocks` blocks without vector units (the last few lanes of a batch
/// finish faster one by one than 16 abreast).
void rb_md5_lane_blocks(rb_md5_lanes *lanes, int lane, const uint8_t *data, size_t blocks);

#endif
