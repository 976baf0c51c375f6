#!/usr/bin/env python3
"""Writes a YAFFS2 image from a directory the way mkyaffs2image does (no YAFFS2 writer is packaged
in Debian): object ids from 257 in write order, no header for the root, each directory's header
before its entries, each file's header followed by its data chunks; packed tags (sequence 0x1000,
object id, chunk id, byte count; 0xffff for headers; ECC bytes zero) in the spare area, erase
blocks of 64 pages padded with erased (0xff) pages. Layout per Aleph One's yaffs_guts.h and
yaffs_packedtags2.h.

Every image it writes with tags in the spare area is read back by unyaffs (Debian) in the same
test, which compares files and modes with the source tree.

    make-yaffs2.py SRC OUT [--chunk 2048] [--spare 64] [--tag-offset 0|2] [--endian le|be]
                           [--inband] [--no-spare]
"""
import argparse
import os
import stat
import struct

parser = argparse.ArgumentParser()
parser.add_argument("src")
parser.add_argument("out")
parser.add_argument("--chunk", type=int, default=2048)
parser.add_argument("--spare", type=int, default=64)
parser.add_argument("--tag-offset", type=int, default=0)
parser.add_argument("--endian", choices=["le", "be"], default="le")
parser.add_argument("--inband", action="store_true", help="tags in the last 16 bytes of each chunk, no spare area")
parser.add_argument("--no-spare", action="store_true", help="a dump without the spare area (no tags at all)")
args = parser.parse_args()

E = "<" if args.endian == "le" else ">"
SPARE = 0 if (args.inband or args.no_spare) else args.spare
DATA = args.chunk - 16 if args.inband else args.chunk
SEQUENCE = 0x1000
pages = []
next_object = [257]
seen_inodes = {}


def page(data, object_id, chunk_id, count):
    data = data + b"\xff" * (args.chunk - len(data))
    tags = struct.pack(E + "IIII", SEQUENCE, object_id, chunk_id, count)
    if args.inband:
        data = data[:args.chunk - 16] + tags
        spare = b""
    elif args.no_spare:
        spare = b""
    else:
        spare = b"\xff" * args.tag_offset + tags + bytes(12)   # 12 ECC bytes
        spare += b"\xff" * (SPARE - len(spare))
    pages.append(data + spare)


def header(kind, parent, name, st, size=0, equiv=0xFFFFFFFF, alias=b"", rdev=0):
    h = bytearray(b"\xff" * 512)
    struct.pack_into(E + "II", h, 0, kind, parent)
    h[8:10] = b"\xff\xff"
    h[10:266] = name.encode().ljust(256, b"\x00")
    struct.pack_into(E + "IIIIIIIi", h, 268, st.st_mode, st.st_uid, st.st_gid, int(st.st_atime), int(st.st_mtime),
                     int(st.st_ctime), size & 0xFFFFFFFF, equiv if equiv != 0xFFFFFFFF else -1)
    h[300:460] = alias.ljust(160, b"\x00")
    struct.pack_into(E + "I", h, 460, rdev)
    struct.pack_into(E + "I", h, 496, size >> 32)
    struct.pack_into(E + "ii", h, 504, 0, 0)   # shadows, is_shrink
    return bytes(h)


def new_object():
    object_id = next_object[0]
    next_object[0] += 1
    return object_id


def write(path, parent):
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        st = os.lstat(full)
        object_id = new_object()
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            page(header(3, parent, name, st), object_id, 0, 0xFFFF)
            write(full, object_id)
        elif stat.S_ISLNK(mode):
            page(header(2, parent, name, st, alias=os.readlink(full).encode()), object_id, 0, 0xFFFF)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in seen_inodes:
                page(header(4, parent, name, st, equiv=seen_inodes[key]), object_id, 0, 0xFFFF)
                continue
            seen_inodes[key] = object_id
            page(header(1, parent, name, st, size=st.st_size), object_id, 0, 0xFFFF)
            with open(full, "rb") as f:
                chunk_id = 1
                while True:
                    data = f.read(DATA)
                    if not data:
                        break
                    page(data, object_id, chunk_id, len(data))
                    chunk_id += 1
        else:
            rdev = (os.major(st.st_rdev) << 8) | (os.minor(st.st_rdev) & 0xFF) | ((os.minor(st.st_rdev) & ~0xFF) << 12)
            page(header(5, parent, name, st, rdev=rdev), object_id, 0, 0xFFFF)


write(args.src, 1)
erased = b"\xff" * (args.chunk + SPARE)
while len(pages) % 64:
    pages.append(erased)
with open(args.out, "wb") as f:
    f.write(b"".join(pages))
