#!/usr/bin/env python3
"""Writes a squashfs 4.0 image from a directory, following the published layout (the kernel's
Documentation/filesystems/squashfs.rst, squashfs-tools' squashfs_fs.h), for the two cases
mksquashfs cannot produce: big-endian 4.0 (as AVM's and some MIPS vendors' tools write it) and
LZMA blocks in the vendor framings only sasquatch reads. Superblock, data blocks (whole blocks, no
fragments), inode and directory tables in 8 KiB metadata blocks, the id table behind its lookup
table; no xattrs, no export table.

The little-endian zlib output of the same code is read back by unsquashfs in the tests, which
checks the layout; the variants are read back by rbscan against the source tree.

    make-squashfs4.py SRC OUT [--endian le|be] [--compression zlib|lzma-alone|lzma-nosize|lzma-raw]
"""
import argparse
import os
import stat
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from squashfs_blocks import COMPRESSIONS, MetadataWriter, compressor, write_file_blocks  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("src")
parser.add_argument("out")
parser.add_argument("--endian", choices=["le", "be"], default="le")
parser.add_argument("--compression", choices=COMPRESSIONS, default="zlib")
parser.add_argument("--block-size", type=int, default=131072)
args = parser.parse_args()
compress = compressor(args.compression)

E = "<" if args.endian == "le" else ">"
BLOCK = args.block_size
MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", "1700000000"))


image = bytearray(96)
ids = []
inodes = MetadataWriter(compress, E)
directories = MetadataWriter(compress, E)
count = [0]
TYPES = {stat.S_IFDIR: 1, stat.S_IFREG: 2, stat.S_IFLNK: 3, stat.S_IFBLK: 4, stat.S_IFCHR: 5, stat.S_IFIFO: 6, stat.S_IFSOCK: 7}


def id_index(value):
    if value not in ids:
        ids.append(value)
    return ids.index(value)


def header(st, kind, number):
    return struct.pack(E + "HHHHII", kind, stat.S_IMODE(st.st_mode), id_index(st.st_uid), id_index(st.st_gid), int(st.st_mtime), number)


def write_tree(path, parent):
    children = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        st = os.lstat(full)
        kind = TYPES[stat.S_IFMT(st.st_mode)]
        if kind == 1:
            reference, number = write_tree(full, None)
        else:
            count[0] += 1
            number = count[0]
            reference = inodes.position()
            if kind == 2:
                start, words = write_file_blocks(image, full, BLOCK, compress)
                body = struct.pack(E + "IIII", start, 0xFFFFFFFF, 0, st.st_size) + b"".join(struct.pack(E + "I", w) for w in words)
            elif kind == 3:
                target = os.readlink(full).encode()
                body = struct.pack(E + "II", 1, len(target)) + target
            elif kind in (4, 5):
                rdev = (os.minor(st.st_rdev) & 0xFF) | (os.major(st.st_rdev) << 8) | ((os.minor(st.st_rdev) & ~0xFF) << 12)
                body = struct.pack(E + "II", 1, rdev)
            else:
                body = struct.pack(E + "I", 1)
            inodes.write(header(st, kind, number) + body)
        children.append((name.encode(), reference, number, kind))

    listing_block, listing_offset = directories.position()
    listing = bytearray()
    i = 0
    while i < len(children):
        block = children[i][1][0]
        run = children[i:i + 256]
        run = run[:next((k for k, c in enumerate(run) if c[1][0] != block), len(run))]
        base = run[0][2]
        listing += struct.pack(E + "III", len(run) - 1, block, base)
        for name, (_, offset), number, kind in run:
            listing += struct.pack(E + "HhHH", offset, number - base, kind, len(name) - 1) + name
        i += len(run)
    directories.write(bytes(listing))

    st = os.lstat(path)
    count[0] += 1
    number = count[0]
    reference = inodes.position()
    nlink = 2 + sum(1 for c in children if c[3] == 1)
    body = struct.pack(E + "IIHHI", listing_block, nlink, len(listing) + 3, listing_offset, parent or count[0] + 1)
    inodes.write(header(st, 1, number) + body)
    return reference, number


root_reference, _ = write_tree(args.src, None)
inode_start = len(image)
image += inodes.finish()
directory_start = len(image)
image += directories.finish()
# The id table: the ids in metadata blocks, then the lookup table of their offsets.
id_blocks = MetadataWriter(compress, E)
id_blocks.write(b"".join(struct.pack(E + "I", i) for i in ids))
id_data = len(image)
image += id_blocks.finish()
id_table_start = len(image)
image += struct.pack(E + "Q", id_data)
bytes_used = len(image)

compression_id = 1 if args.compression == "zlib" else 2
root = root_reference[0] << 16 | root_reference[1]
magic = b"hsqs" if args.endian == "le" else b"sqsh"
sb = magic + struct.pack(E + "IIIIHHHHHHQQQQQQQQ", count[0], MTIME, BLOCK, 0, compression_id, BLOCK.bit_length() - 1,
                         0x10 | 0x200, len(ids), 4, 0, root, bytes_used, id_table_start, 0xFFFFFFFFFFFFFFFF,
                         inode_start, directory_start, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
assert len(sb) == 96
image[0:96] = sb
image += bytes((-len(image)) % 4096)
with open(args.out, "wb") as f:
    f.write(image)
