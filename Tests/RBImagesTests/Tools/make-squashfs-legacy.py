#!/usr/bin/env python3
"""Writes a squashfs 3.1 or 2.1 image (no packaged tool writes these any more) from a directory,
following the published layout (squashfs-tools 3.x headers; the notes in rbscan's
LegacySquashfsTree): superblock, data blocks, inode table, directory table, an empty fragment
table (every file stored in whole blocks), raw uid and gid tables. Bit fields are packed least
significant first on little-endian images and most significant first on big-endian ones.

Every image it writes is read back by an independent reader (7-Zip) in the same test, which
compares files, modes and owners with the source tree.

    make-squashfs-legacy.py SRC OUT --major 3|2 --endian le|be [--compression zlib|lzma-alone|lzma-nosize|lzma-raw]
                            [--magic XXXX] [--block-size N]
"""
import argparse
import os
import stat
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from squashfs_blocks import COMPRESSIONS, MetadataWriter, compressor, write_file_blocks  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("src")
parser.add_argument("out")
parser.add_argument("--major", type=int, choices=[2, 3], default=3)
parser.add_argument("--endian", choices=["le", "be"], default="le")
parser.add_argument("--compression", choices=COMPRESSIONS, default="zlib")
parser.add_argument("--magic", help="a vendor magic instead of hsqs/sqsh (e.g. shsq, sqlz)")
parser.add_argument("--block-size", type=int, default=65536)
args = parser.parse_args()
compress = compressor(args.compression)

LE = args.endian == "le"
V3 = args.major == 3
E = "<" if LE else ">"
BLOCK = args.block_size
assert BLOCK & (BLOCK - 1) == 0 and 4096 <= BLOCK <= (1 << 20 if V3 else 1 << 16)
METADATA = 8192
MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", "1700000000"))


def pack_bits(fields, width):
    """fields: [(value, bits)] in on-disk declaration order; returns bytes of `width` bits."""
    value, position = 0, 0
    for field, bits in fields:
        assert 0 <= field < (1 << bits), (field, bits)
        if LE:
            value |= field << position
        else:
            value |= field << (width - position - bits)
        position += bits
    assert position == width
    return value.to_bytes(width // 8, "little" if LE else "big")


image = bytearray(0x77)   # the superblock is written last
uids, gids = [], []


def id_index(table, value):
    if value not in table:
        table.append(value)
        assert len(table) < 255
    return table.index(value)


inodes = MetadataWriter(compress, E)
directories = MetadataWriter(compress, E)
inode_count = 0
TYPES = {stat.S_IFDIR: 1, stat.S_IFREG: 2, stat.S_IFLNK: 3, stat.S_IFBLK: 4, stat.S_IFCHR: 5, stat.S_IFIFO: 6, stat.S_IFSOCK: 7}


def header(st, kind, number):
    mode = stat.S_IMODE(st.st_mode)
    type_mode = pack_bits([(kind, 4), (mode, 12)], 16)
    uid, gid = id_index(uids, st.st_uid), id_index(gids, st.st_gid)
    common = type_mode + bytes([uid, gid])
    return common + struct.pack(E + "iI", int(st.st_mtime), number) if V3 else common


def write_tree(path, parent_number):
    """Writes the inodes below `path` and its own; returns (reference, inode number, type)."""
    global inode_count
    children = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        st = os.lstat(full)
        kind = TYPES[stat.S_IFMT(st.st_mode)]
        if kind == 1:
            # Directory numbers: assigned when the directory inode is written (after its children).
            reference, number = write_tree(full, None)
        else:
            inode_count += 1
            number = inode_count
            reference = inodes.position()
            if kind == 2:
                start, words = write_file_blocks(image, full, BLOCK, compress)
                if V3:
                    body = struct.pack(E + "QIII", start, 0xFFFFFFFF, 0, st.st_size)
                else:
                    body = struct.pack(E + "iIIII", int(st.st_mtime), start, 0xFFFFFFFF, 0, st.st_size)
                inodes.write(header(st, 2, number) + body + b"".join(struct.pack(E + "I", w) for w in words))
            elif kind == 3:
                target = os.readlink(full).encode()
                nlink = struct.pack(E + "I", 1) if V3 else b""
                inodes.write(header(st, 3, number) + nlink + struct.pack(E + "H", len(target)) + target)
            elif kind in (4, 5):
                rdev = (os.major(st.st_rdev) << 8 | os.minor(st.st_rdev)) & 0xFFFF
                nlink = struct.pack(E + "I", 1) if V3 else b""
                inodes.write(header(st, kind, number) + nlink + struct.pack(E + "H", rdev))
            else:
                inodes.write(header(st, kind, number) + (struct.pack(E + "I", 1) if V3 else b""))
        children.append((name.encode(), reference, number, kind))

    # The listing: runs of entries sharing one inode-table block, at most 256 each.
    listing_block, listing_offset = directories.position()
    listing = bytearray()
    i = 0
    while i < len(children):
        block = children[i][1][0]
        run = [c for c in children[i:i + 256]]
        run = run[:next((k for k, c in enumerate(run) if c[1][0] != block), len(run))]
        base = run[0][2]
        if V3:
            listing += struct.pack(E + "BII", len(run) - 1, block, base)
        else:
            listing += pack_bits([(len(run) - 1, 8), (block, 24)], 32)
        for name, (_, offset), number, kind in run:
            entry = pack_bits([(offset, 13), (kind, 3)], 16) + bytes([len(name) - 1])
            if V3:
                entry += struct.pack(E + "h", number - base)
            listing += entry + name
        i += len(run)
    directories.write(bytes(listing))

    st = os.lstat(path)
    inode_count += 1
    number = inode_count
    reference = inodes.position()
    nlink = 2 + sum(1 for c in children if c[3] == 1)
    size = len(listing) + 3 if V3 else len(listing)
    if V3:
        packed = pack_bits([(size, 19), (listing_offset, 13)], 32)
        body = struct.pack(E + "I", nlink) + packed + struct.pack(E + "II", listing_block, parent_number or 0)
    else:
        packed = pack_bits([(size, 19), (listing_offset, 13)], 32)
        start = listing_block.to_bytes(3, "little" if LE else "big")
        body = packed + struct.pack(E + "i", int(st.st_mtime)) + start
    inodes.write(header(st, 1, number) + body)
    return reference, number


root_reference, _ = write_tree(args.src, None)
inode_start = len(image)
image += inodes.finish()
directory_start = len(image)
image += directories.finish()
fragment_start = len(image)   # no fragments: an empty index
uid_start = len(image)
image += b"".join(struct.pack(E + "I", u) for u in uids)
gid_start = len(image)
image += b"".join(struct.pack(E + "I", g) for g in gids)
bytes_used = len(image)

magic = (args.magic or ("hsqs" if LE else "sqsh")).encode()
root = root_reference[0] << 16 | root_reference[1]
flags = 0x10   # no fragments
block_log = BLOCK.bit_length() - 1
sb = bytearray(0x77)
sb[0:4] = magic
struct.pack_into(E + "IIIIII", sb, 4, inode_count, bytes_used, uid_start, gid_start, inode_start, directory_start)
struct.pack_into(E + "HHHH", sb, 0x1C, args.major, 1, BLOCK & 0xFFFF, block_log)
sb[0x24], sb[0x25], sb[0x26] = flags, len(uids), len(gids)
struct.pack_into(E + "iQIII", sb, 0x27, MTIME, root, BLOCK, 0, fragment_start)
if V3:
    struct.pack_into(E + "QQQQQQQ", sb, 0x3F, bytes_used, uid_start, gid_start, inode_start, directory_start, fragment_start,
                     0xFFFFFFFFFFFFFFFF)
image[0:0x77] = sb
image += bytes((-len(image)) % 4096)
with open(args.out, "wb") as f:
    f.write(image)
