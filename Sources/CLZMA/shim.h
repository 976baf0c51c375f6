#ifndef RBSCAN_CLZMA_SHIM_H
#define RBSCAN_CLZMA_SHIM_H
#include <stdint.h>
#include <string.h>
#include <lzma.h>

/* Raw LZMA1 (no header) as JFFS2 stores it: the filter IDs and LZMA_STREAM_INIT are macros Swift
   cannot use, so the whole decode is one call. Returns the bytes produced, or -1 on error.
   Stops at the end marker or when `out` is full, whichever comes first. */
static inline long rb_lzma1_raw_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                                       uint32_t dict_size, uint32_t lc, uint32_t lp, uint32_t pb) {
    lzma_options_lzma options;
    memset(&options, 0, sizeof(options));
    options.dict_size = dict_size;
    options.lc = lc;
    options.lp = lp;
    options.pb = pb;
    lzma_filter filters[2];
    filters[0].id = LZMA_FILTER_LZMA1;
    filters[0].options = &options;
    filters[1].id = LZMA_VLI_UNKNOWN;
    filters[1].options = NULL;
    lzma_stream stream = LZMA_STREAM_INIT;
    if (lzma_raw_decoder(&stream, filters) != LZMA_OK) return -1;
    stream.next_in = in;
    stream.avail_in = in_len;
    stream.next_out = out;
    stream.avail_out = out_len;
    lzma_ret ret = LZMA_OK;
    while (stream.avail_out > 0 && ret == LZMA_OK) {
        ret = lzma_code(&stream, stream.avail_in > 0 ? LZMA_RUN : LZMA_FINISH);
        if (ret == LZMA_OK && stream.avail_in == 0 && stream.avail_out > 0) {
            ret = lzma_code(&stream, LZMA_FINISH);
            if (ret == LZMA_OK) break;
        }
    }
    long produced = (long)(out_len - stream.avail_out);
    lzma_end(&stream);
    if (ret != LZMA_OK && ret != LZMA_STREAM_END && ret != LZMA_BUF_ERROR) return -1;
    return produced;
}

/* One raw LZMA1 block (vendor squashfs blocks): decodes until the end marker, the end of the
   input or a full output buffer. Returns the bytes produced, or -1 when the data is not valid
   LZMA with these properties; *consumed receives the input bytes used and *ended whether the
   stream reached its end marker. */
static inline long rb_lzma1_raw_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                                      uint32_t dict_size, uint32_t lc, uint32_t lp, uint32_t pb,
                                      size_t *consumed, int *ended) {
    lzma_options_lzma options;
    memset(&options, 0, sizeof(options));
    options.dict_size = dict_size;
    options.lc = lc;
    options.lp = lp;
    options.pb = pb;
    lzma_filter filters[2];
    filters[0].id = LZMA_FILTER_LZMA1;
    filters[0].options = &options;
    filters[1].id = LZMA_VLI_UNKNOWN;
    filters[1].options = NULL;
    lzma_stream stream = LZMA_STREAM_INIT;
    *consumed = 0;
    *ended = 0;
    if (lzma_raw_decoder(&stream, filters) != LZMA_OK) return -1;
    stream.next_in = in;
    stream.avail_in = in_len;
    stream.next_out = out;
    stream.avail_out = out_len;
    lzma_ret ret = lzma_code(&stream, LZMA_RUN);
    if (ret == LZMA_OK && stream.avail_out > 0) ret = lzma_code(&stream, LZMA_FINISH);
    long produced = (long)(out_len - stream.avail_out);
    *consumed = in_len - stream.avail_in;
    *ended = ret == LZMA_STREAM_END;
    lzma_end(&stream);
    if (ret != LZMA_OK && ret != LZMA_STREAM_END && ret != LZMA_BUF_ERROR) return -1;
    return produced;
}

/* A streaming raw LZMA1 decoder (vendor squashfs blocks, kernels stored without the
   LZMA-alone header): the filter ID is a macro Swift cannot import. */
static inline lzma_ret rb_lzma1_raw_decoder(lzma_stream *stream, uint32_t dict_size, uint32_t lc, uint32_t lp, uint32_t pb) {
    lzma_options_lzma local;
    memset(&local, 0, sizeof(local));
    local.dict_size = dict_size;
    local.lc = lc;
    local.lp = lp;
    local.pb = pb;
    lzma_filter filters[2];
    filters[0].id = LZMA_FILTER_LZMA1;
    filters[0].options = &local;
    filters[1].id = LZMA_VLI_UNKNOWN;
    filters[1].options = NULL;
    /* lzma_raw_decoder copies the options it needs. */
    return lzma_raw_decoder(stream, filters);
}
#endif
