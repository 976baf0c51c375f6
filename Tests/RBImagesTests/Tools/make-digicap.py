#!/usr/bin/env python3
"""Writes a Hikvision digicap.dav update file ("SWKH") from payload files, following the published
layout (hiktools; Hikvision's repack scripts): a 0x40-byte header and a table of 44-byte entries
(name[32], offset, size, byte-sum checksum), the header XOR-obfuscated with the public 16-byte key
whose position advances one extra step every 16 bytes; the payload files follow, plain.

    make-digicap.py OUT FILE... [--order offset-size|size-offset]

--order size-offset writes the two fields in the order hiktools reads them (the tests check that
hiktools extracts the same files); rbscan accepts both orders.
"""
import argparse
import os
import struct

KEY = bytes([0xba, 0xcd, 0xbc, 0xfe, 0xd6, 0xca, 0xdd, 0xd3, 0xba, 0xb9, 0xa3, 0xab, 0xbf, 0xcb, 0xb5, 0xbe])

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("files", nargs="+")
parser.add_argument("--order", choices=["offset-size", "size-offset"], default="offset-size")
args = parser.parse_args()

payloads = [open(f, "rb").read() for f in args.files]
header_length = 0x40 + 44 * len(payloads)
table = b""
offset = header_length
for path, data in zip(args.files, payloads):
    pair = (offset, len(data)) if args.order == "offset-size" else (len(data), offset)
    table += os.path.basename(path).encode().ljust(32, b"\0") + struct.pack("<III", *pair, sum(data) & 0xFFFFFFFF)
    offset += len(data)
# language 1, device class 0x1234, OEM 1, version 0x05050000, features 0
body = struct.pack("<IIIIII", len(payloads), 1, 0x1234, 1, 0x05050000, 0) + bytes(0x40 - 36) + table
header = b"SWKH" + struct.pack("<II", sum(body) & 0xFFFFFFFF, header_length) + body
assert len(header) == header_length
obfuscated = bytes(b ^ KEY[(i + (i >> 4)) & 15] for i, b in enumerate(header))
with open(args.out, "wb") as f:
    f.write(obfuscated + b"".join(payloads))
