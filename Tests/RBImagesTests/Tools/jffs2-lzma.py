#!/usr/bin/env python3
"""Re-encode the data nodes of an uncompressed JFFS2 image (made by mkfs.jffs2 -x zlib -x rtime)
with JFFS2's LZMA compressor, as OpenWrt's and U-Boot's JFFS2 use it: raw LZMA1 with lc=0, lp=0,
pb=0, an 8 KiB dictionary and an end marker, compression type 0x08.

Debian's mkfs.jffs2 has no LZMA compressor; the data is compressed here by liblzma (Python's lzma
module) and the node headers and CRCs are rewritten. Erase-block alignment is not kept, which
only matters to a kernel mounting the image.

usage: jffs2-lzma.py IN OUT (big|little)
"""
import lzma
import struct
import sys
import zlib


def jffs2_crc(data: bytes) -> int:
    # JFFS2's CRC-32: initial value 0, no final inversion (crc32(0, ...) in the kernel).
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def main() -> int:
    src, dst, endian = sys.argv[1], sys.argv[2], sys.argv[3]
    e = "<" if endian == "little" else ">"
    magic = struct.pack(e + "H", 0x1985)
    data = open(src, "rb").read()
    out = bytearray()
    pos = 0
    converted = 0
    while pos + 12 <= len(data):
        if data[pos:pos + 2] != magic:
            pos += 4
            continue
        nodetype, totlen = struct.unpack_from(e + "HI", data, pos + 2)
        node = bytearray(data[pos:pos + totlen])
        if nodetype == 0xE002 and len(node) >= 68 and node[56] == 0 and struct.unpack_from(e + "I", node, 52)[0] > 0:
            payload = bytes(node[68:])
            packed = lzma.compress(payload, format=lzma.FORMAT_RAW,
                                   filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 0x2000, "lc": 0, "lp": 0, "pb": 0}])
            node = node[:68] + packed
            struct.pack_into(e + "I", node, 4, len(node))                  # totlen
            struct.pack_into(e + "I", node, 48, len(packed))               # csize
            node[56] = 0x08                                                # compr = LZMA
            struct.pack_into(e + "I", node, 60, jffs2_crc(packed))         # data_crc
            struct.pack_into(e + "I", node, 8, jffs2_crc(bytes(node[:8])))     # hdr_crc
            struct.pack_into(e + "I", node, 64, jffs2_crc(bytes(node[:60])))  # node_crc (covers hdr_crc)
            converted += 1
        out += node
        while len(out) % 4:
            out.append(0)
        pos += (totlen + 3) & ~3
    open(dst, "wb").write(out)
    print(f"{converted} data nodes re-encoded with LZMA")
    return 0 if converted else 1


if __name__ == "__main__":
    sys.exit(main())
