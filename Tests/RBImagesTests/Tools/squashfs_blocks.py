"""What the two squashfs test writers (make-squashfs-legacy.py for 3.x/2.x, make-squashfs4.py for
4.0) share: block compression in zlib or one of the vendor LZMA framings, the table of 8 KiB
metadata blocks (a 16-bit header in the image's byte order, bit 15 = stored), and file data
written as whole blocks behind their size words."""
import lzma
import struct
import zlib

COMPRESSIONS = ["zlib", "lzma-alone", "lzma-nosize", "lzma-raw"]


def compressor(kind):
    """A function block -> compressed bytes, or None when storing the block is smaller.

    lzma-alone: properties, dictionary, 64-bit size (mainline LZMA, sqlzma); lzma-nosize: no size
    field (TP-Link, Broadcom SDK); lzma-raw: no header, lc 0 lp 2 pb 2 (sasquatch's adaptive class).
    """
    def compress(data):
        if kind == "zlib":
            out = zlib.compress(data, 9)
        else:
            lc, lp, pb = (0, 2, 2) if kind == "lzma-raw" else (3, 0, 2)
            filters = [{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20, "lc": lc, "lp": lp, "pb": pb}]
            stream = lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)
            properties = bytes([(pb * 5 + lp) * 9 + lc]) + struct.pack("<I", 1 << 20)
            if kind == "lzma-alone":
                out = properties + struct.pack("<Q", len(data)) + stream
            elif kind == "lzma-nosize":
                out = properties + stream
            else:
                out = stream
        return out if len(out) < len(data) else None
    return compress


class MetadataWriter:
    """A table of 8 KiB metadata blocks; `position()` is the reference of the next byte (the
    on-disk offset of the block being filled, the offset inside it)."""

    def __init__(self, compress, endian):
        self.compress = compress
        self.endian = endian
        self.done = bytearray()
        self.pending = bytearray()

    def position(self):
        return len(self.done), len(self.pending)

    def write(self, data):
        self.pending += data
        while len(self.pending) >= 8192:
            self.flush(self.pending[:8192])
            self.pending = self.pending[8192:]

    def flush(self, block):
        packed = self.compress(bytes(block))
        if packed is None:
            self.done += struct.pack(self.endian + "H", len(block) | 0x8000) + block
        else:
            self.done += struct.pack(self.endian + "H", len(packed)) + packed

    def finish(self):
        if self.pending:
            self.flush(self.pending)
            self.pending = bytearray()
        return bytes(self.done)


def write_file_blocks(image, path, block_size, compress):
    """Appends a file's data to `image` as whole blocks (no fragments); returns (start, size
    words), bit 24 of a word marking a block stored uncompressed."""
    start = len(image)
    words = []
    with open(path, "rb") as f:
        while True:
            block = f.read(block_size)
            if not block:
                break
            packed = compress(block)
            if packed is None:
                image.extend(block)
                words.append(len(block) | (1 << 24))
            else:
                image.extend(packed)
                words.append(len(packed))
    return start, words
