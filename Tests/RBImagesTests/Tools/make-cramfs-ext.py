#!/usr/bin/env python3
"""Rewrites a little-endian cramfs made by mkfs.cramfs into one with extended block pointers
(superblock flag 0x800), the layout Linux 4.15+ reads and mkfs.cramfs does not write
(fs/cramfs/inode.c, cramfs_read_folio; include/uapi/linux/cramfs_fs.h):

- bit 30 of a block pointer (DIRECT): the block's own start / 4; a compressed direct block
  starts with its 16-bit length, an uncompressed one (bit 31) is a whole page;
- a plain pointer is the end of its block, which starts where the previous block ended,
  including a previous direct block.

For every regular file of three pages or more, blocks 1.. are moved to the end of the image:
block 1 becomes direct and compressed, block 3 (when there is one) direct and uncompressed,
every other moved block plain, laid right after the block before it. The original blocks stay
in place, unreferenced. The CRC is not recomputed (fsck.cramfs refuses the flag anyway).

    make-cramfs-ext.py IN OUT
"""
import struct, sys, zlib

PAGE = 4096
DIRECT, UNCOMPRESSED = 1 << 30, 1 << 31

data = bytearray(open(sys.argv[1], "rb").read())
assert struct.unpack_from("<I", data, 0)[0] == 0x28CD3D45, "not a little-endian cramfs"
flags = struct.unpack_from("<I", data, 8)[0]
struct.pack_into("<I", data, 8, flags | 0x800)
tail = bytearray()


def place(chunk, align=False):
    """Appends chunk after the image (and what was appended before); returns its offset."""
    if align:
        while (len(data) + len(tail)) % 4:
            tail.append(0)
    offset = len(data) + len(tail)
    tail.extend(chunk)
    return offset


def inode(at):
    w0, w1, w2 = struct.unpack_from("<III", data, at)
    return w0 & 0xFFFF, w1 & 0xFFFFFF, (w2 & 0x3F) * 4, (w2 >> 6) * 4


def rewrite_file(size, table):
    pages = (size + PAGE - 1) // PAGE
    if pages < 3:
        return
    ends = [struct.unpack_from("<I", data, table + 4 * i)[0] for i in range(pages)]
    starts = [table + 4 * pages] + ends[:-1]
    for i in range(1, pages):
        block = bytes(data[starts[i]:ends[i]])
        if i == 1:
            at = place(struct.pack("<H", len(block)) + block, align=True)
            pointer = (at >> 2) | DIRECT
        elif i == 3:
            page = zlib.decompress(block)
            at = place(page.ljust(PAGE, b"\0") if i < pages - 1 else page, align=True)
            pointer = (at >> 2) | DIRECT | UNCOMPRESSED
        else:
            pointer = place(block) + len(block)
        struct.pack_into("<I", data, table + 4 * i, pointer)


def walk(offset, size):
    at = offset
    while at < offset + size:
        mode, isize, namelen, child = inode(at)
        if mode & 0o170000 == 0o040000 and isize:
            walk(child, isize)
        elif mode & 0o170000 == 0o100000 and isize:
            rewrite_file(isize, child)
        at += 12 + namelen


mode, size, _, offset = inode(64)
walk(offset, size)
data.extend(tail)
struct.pack_into("<I", data, 4, len(data))
open(sys.argv[2], "wb").write(data)
