#ifndef RBSCAN_CLZMA_SHIM_H
#define RBSCAN_CLZMA_SHIM_H
#include <stdint.h>
#include <string.h>
#include <lzma.h>

/* A raw LZMA1 decoder (no header: vendor squashfs blocks, JFFS2's lzma nodes, kernels stored
   without the LZMA-alone header) with explicit properties: the filter IDs are macros Swift
   cannot import. lzma_raw_decoder copies the options it needs. */
static inline lzma_ret rb_lzma1_raw_decoder(lzma_stream *stream, uint32_t dict_size, uint32_t lc, uint32_t lp, uint32_t pb) {
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
    return lzma_raw_decoder(stream, filters);
}

/* One raw LZMA1 block, decoded until the end marker, the end of the input or a full output
   buffer (LZMA_STREAM_INIT is a macro too). Returns the bytes produced, or -1 when the data is
   not valid LZMA with these properties; *consumed receives the input bytes used and *ended
   whether the stream reached its end marker. */
static inline long rb_lzma1_raw_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                                      uint32_t dict_size, uint32_t lc, uint32_t lp, uint32_t pb,
                                      size_t *consumed, int *ended) {
    lzma_stream stream = LZMA_STREAM_INIT;
    *consumed = 0;
    *ended = 0;
    if (rb_lzma1_raw_decoder(&stream, dict_size, lc, lp, pb) != LZMA_OK) return -1;
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
#endif
