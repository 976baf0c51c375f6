#ifndef RBSCAN_CSQUASHFS_SHIM_H
#define RBSCAN_CSQUASHFS_SHIM_H
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sqfs/predef.h>
#include <sqfs/io.h>
#include <sqfs/super.h>
#include <sqfs/compressor.h>
#include <sqfs/id_table.h>
#include <sqfs/dir_reader.h>
#include <sqfs/dir.h>
#include <sqfs/data_reader.h>
#include <sqfs/inode.h>
#include <sqfs/error.h>

/* A read-only sqfs_file_t over [offset, offset+size) of a host file descriptor, so a squashfs
   image embedded at any offset of a firmware blob is read in place (pread, thread-safe). The
   descriptor is owned by the caller. */
typedef struct {
    sqfs_file_t base;
    int fd;
    sqfs_u64 offset;
    sqfs_u64 size;
} rb_sqfs_region_file;

static void rb_sqfs_region_destroy(sqfs_object_t *obj) { free(obj); }

static int rb_sqfs_region_read_at(sqfs_file_t *base, sqfs_u64 off, void *buffer, size_t size) {
    rb_sqfs_region_file *file = (rb_sqfs_region_file *)base;
    if (off > file->size || size > file->size - off) return SQFS_ERROR_OUT_OF_BOUNDS;
    char *out = (char *)buffer;
    while (size > 0) {
        ssize_t n = pread(file->fd, out, size, (off_t)(file->offset + off));
        if (n < 0) {
            if (errno == EINTR) continue;
            return SQFS_ERROR_IO;
        }
        if (n == 0) return SQFS_ERROR_OUT_OF_BOUNDS;
        out += n;
        off += (sqfs_u64)n;
        size -= (size_t)n;
    }
    return 0;
}

static int rb_sqfs_region_write_at(sqfs_file_t *base, sqfs_u64 off, const void *buffer, size_t size) {
    (void)base; (void)off; (void)buffer; (void)size;
    return SQFS_ERROR_IO;
}

static sqfs_u64 rb_sqfs_region_get_size(const sqfs_file_t *base) {
    return ((const rb_sqfs_region_file *)base)->size;
}

static int rb_sqfs_region_truncate(sqfs_file_t *base, sqfs_u64 size) {
    (void)base; (void)size;
    return SQFS_ERROR_IO;
}

static inline sqfs_file_t *rb_sqfs_region_create(int fd, sqfs_u64 offset, sqfs_u64 size) {
    rb_sqfs_region_file *file = (rb_sqfs_region_file *)calloc(1, sizeof(rb_sqfs_region_file));
    if (file == NULL) return NULL;
    file->base.base.destroy = rb_sqfs_region_destroy;
    file->base.base.copy = NULL;
    file->base.read_at = rb_sqfs_region_read_at;
    file->base.write_at = rb_sqfs_region_write_at;
    file->base.get_size = rb_sqfs_region_get_size;
    file->base.truncate = rb_sqfs_region_truncate;
    file->fd = fd;
    file->offset = offset;
    file->size = size;
    return &file->base;
}

static inline void rb_sqfs_destroy(void *obj) { sqfs_destroy(obj); }

static inline int rb_sqfs_read_compressor_options(sqfs_compressor_t *cmp, sqfs_file_t *file) {
    return cmp->read_options(cmp, file);
}

static inline int rb_sqfs_read_at(sqfs_file_t *file, sqfs_u64 offset, void *buffer, size_t size) {
    return file->read_at(file, offset, buffer, size);
}

/* A decompressor whose blocks are decoded by a callback: rbscan's vendor-LZMA ladder, for
   squashfs 4.0 images whose LZMA blocks are not in the mainline framing, and libdeflate for gzip
   images. `release`, when set, frees `context` with the compressor. */
typedef long (*rb_sqfs_block_fn)(void *context, const sqfs_u8 *in, sqfs_u32 size, sqfs_u8 *out, sqfs_u32 outsize);
typedef void (*rb_sqfs_release_fn)(void *context);

typedef struct {
    sqfs_compressor_t base;
    rb_sqfs_block_fn fn;
    void *context;
    rb_sqfs_release_fn release;
    sqfs_compressor_config_t config;
} rb_sqfs_callback_compressor;

static void rb_sqfs_callback_destroy(sqfs_object_t *obj) {
    rb_sqfs_callback_compressor *c = (rb_sqfs_callback_compressor *)obj;
    if (c->release != NULL) c->release(c->context);
    free(obj);
}
static void rb_sqfs_callback_get_configuration(const sqfs_compressor_t *cmp, sqfs_compressor_config_t *cfg) {
    *cfg = ((const rb_sqfs_callback_compressor *)cmp)->config;
}
static int rb_sqfs_callback_write_options(sqfs_compressor_t *cmp, sqfs_file_t *file) { (void)cmp; (void)file; return 0; }
static int rb_sqfs_callback_read_options(sqfs_compressor_t *cmp, sqfs_file_t *file) { (void)cmp; (void)file; return 0; }
static sqfs_s32 rb_sqfs_callback_do_block(sqfs_compressor_t *cmp, const sqfs_u8 *in, sqfs_u32 size, sqfs_u8 *out, sqfs_u32 outsize) {
    rb_sqfs_callback_compressor *c = (rb_sqfs_callback_compressor *)cmp;
    long n = c->fn(c->context, in, size, out, outsize);
    return n < 0 ? SQFS_ERROR_COMPRESSOR : (sqfs_s32)n;
}

static inline sqfs_compressor_t *rb_sqfs_callback_compressor_create(const sqfs_compressor_config_t *config,
                                                                    rb_sqfs_block_fn fn, void *context,
                                                                    rb_sqfs_release_fn release) {
    rb_sqfs_callback_compressor *c = (rb_sqfs_callback_compressor *)calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->base.base.destroy = rb_sqfs_callback_destroy;
    c->base.base.copy = NULL;
    c->base.get_configuration = rb_sqfs_callback_get_configuration;
    c->base.write_options = rb_sqfs_callback_write_options;
    c->base.read_options = rb_sqfs_callback_read_options;
    c->base.do_block = rb_sqfs_callback_do_block;
    c->fn = fn;
    c->context = context;
    c->release = release;
    c->config = *config;
    return &c->base;
}

/* Flexible array members are not imported into Swift. */
static inline const char *rb_sqfs_node_name(const sqfs_tree_node_t *node) { return (const char *)node->name; }
/* A regular file's block count and block sizes (the inode's payload). */
static inline sqfs_u32 rb_sqfs_file_block_count(const sqfs_inode_generic_t *inode) {
    return inode->payload_bytes_used / sizeof(sqfs_u32);
}
static inline const sqfs_u32 *rb_sqfs_file_block_sizes(const sqfs_inode_generic_t *inode) { return inode->extra; }

/* An extended regular-file inode holding what libsquashfs's data reader reads a file by (where
   its blocks start, its size, its fragment, its block sizes), made from the few bytes the tree
   keeps per file instead of the inode itself. Freed with free(); NULL when out of memory. */
static inline sqfs_inode_generic_t *rb_sqfs_file_inode(sqfs_u64 blocks_start, sqfs_u64 size, sqfs_u32 fragment,
                                                       sqfs_u32 fragment_offset, const sqfs_u32 *blocks, sqfs_u32 count) {
    sqfs_inode_generic_t *inode = calloc(1, sizeof(*inode) + (size_t)count * sizeof(sqfs_u32));
    if (!inode) return NULL;
    inode->base.type = SQFS_INODE_EXT_FILE;
    inode->payload_bytes_available = inode->payload_bytes_used = count * (sqfs_u32)sizeof(sqfs_u32);
    inode->data.file_ext.blocks_start = blocks_start;
    inode->data.file_ext.file_size = size;
    inode->data.file_ext.nlink = 1;
    inode->data.file_ext.fragment_idx = fragment;
    inode->data.file_ext.fragment_offset = fragment_offset;
    inode->data.file_ext.xattr_idx = 0xFFFFFFFF;
    for (sqfs_u32 i = 0; i < count; i++) inode->extra[i] = blocks[i];
    return inode;
}
static inline const char *rb_sqfs_dir_entry_name(const sqfs_dir_entry_t *entry) { return (const char *)entry->name; }
static inline const char *rb_sqfs_slink_target(const sqfs_inode_generic_t *inode) { return (const char *)inode->extra; }
static inline sqfs_u32 rb_sqfs_slink_size(const sqfs_inode_generic_t *inode) {
    return inode->base.type == SQFS_INODE_EXT_SLINK ? inode->data.slink_ext.target_size : inode->data.slink.target_size;
}
#endif
