#ifndef RBSCAN_CARCHIVE_SHIM_H
#define RBSCAN_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/* The file-type constants are cast macros ((__LA_MODE_T)0100000), invisible to Swift. */
static const unsigned int RB_AE_IFMT = AE_IFMT;
static const unsigned int RB_AE_IFREG = AE_IFREG;
static const unsigned int RB_AE_IFLNK = AE_IFLNK;
static const unsigned int RB_AE_IFSOCK = AE_IFSOCK;
static const unsigned int RB_AE_IFCHR = AE_IFCHR;
static const unsigned int RB_AE_IFBLK = AE_IFBLK;
static const unsigned int RB_AE_IFDIR = AE_IFDIR;
static const unsigned int RB_AE_IFIFO = AE_IFIFO;
#endif
