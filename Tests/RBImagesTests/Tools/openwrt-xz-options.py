#!/usr/bin/env python3
"""Rewrites a mksquashfs xz image's 8-byte compressor options block into the 12-byte block
OpenWrt's mksquashfs writes (14 00 09 00 90 00 40 00 00 00 04 00 after the metadata header
0x800c, as read from OpenWrt and PandoraBox images). The 4 extra bytes are the first 4 bytes of
the first data block, which the caller arranges to be 00 00 04 00 (an uncompressible file
sorted first, stored raw), so no other byte of the image moves or changes meaning."""
import sys

path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
flags = int.from_bytes(data[24:26], 'little')
assert flags & 0x0400, 'no compressor options block'
assert data[96:98] == bytes([0x08, 0x80]), 'unexpected options header ' + data[96:98].hex()
assert data[106:110] == bytes([0, 0, 4, 0]), 'the sorted file is not the first data block'
data[96:110] = bytes([0x0c, 0x80, 0x14, 0x00, 0x09, 0x00, 0x90, 0x00, 0x40, 0x00, 0x00, 0x00, 0x04, 0x00])
open(path, 'wb').write(data)
