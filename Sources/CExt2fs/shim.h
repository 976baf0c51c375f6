#ifndef RBSCAN_CEXT2FS_SHIM_H
#define RBSCAN_CEXT2FS_SHIM_H
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

/* Globals and macros Swift cannot use directly. */
static inline io_manager rb_ext2_unix_io_manager(void) { return unix_io_manager; }
static inline __u64 rb_ext2_inode_size(const struct ext2_inode *inode) { return EXT2_I_SIZE(inode); }
static inline unsigned rb_ext2_inode_uid(const struct ext2_inode *inode) { return inode_uid(*inode); }
static inline unsigned rb_ext2_inode_gid(const struct ext2_inode *inode) { return inode_gid(*inode); }
static inline const char *rb_ext2_fast_link(const struct ext2_inode *inode) { return (const char *)inode->i_block; }
static inline const char *rb_ext2_dirent_name(const struct ext2_dir_entry *dirent) { return dirent->name; }
static inline int rb_ext2_dirent_name_len(const struct ext2_dir_entry *dirent) { return ext2fs_dirent_name_len(dirent); }
static inline int rb_ext2_open_flags(void) { return EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS; }
#endif
