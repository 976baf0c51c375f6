import RBCore

/// Reads regular files of the squashfs images rbscan parses itself (3.x/2.x, big-endian 4.0):
/// data blocks from the file's start, each behind a size word (bit 24: stored; 0: sparse), and
/// the tail from a fragment block.
struct SquashfsFileReader: Sendable {
    /// Where a file's data lives.
    struct FileData: Sendable {
        var start: UInt64
        var size: UInt64
        var fragment: UInt32
        var fragmentOffset: UInt32
        var blocks: [UInt32]
    }

    let source: ByteSource
    let codec: any SquashfsBlockCodec
    let blockSize: Int
    let fragments: [(start: UInt64, size: UInt32)]

    /// Decodes one block; `expected`: the bytes it must yield (nil for a fragment block).
    func block(at offset: UInt64, word: UInt32, expected: Int?, path: String) throws -> [UInt8] {
        if word == 0 { return [UInt8](repeating: 0, count: expected ?? blockSize) }   // sparse
        let length = Int(word & 0xff_ffff)
        guard offset + UInt64(length) <= source.size, length <= blockSize * 2 else {
            throw FileTreeError(.unreadable, path: path, "data block out of bounds (truncated image?)", offset: Int(source.base + offset))
        }
        let bytes = try source.read(at: offset, count: length)
        if word & (1 << 24) != 0 { return Array(bytes.prefix(expected ?? bytes.count)) }
        guard let out = bytes.withUnsafeBytes({ codec.decode($0, capacity: blockSize, exact: false) }), out.count >= expected ?? 0 else {
            throw FileTreeError(.unreadable, path: path, "data block does not decompress", offset: Int(source.base + offset))
        }
        return Array(out.prefix(expected ?? out.count))
    }

    /// The first `limit` bytes of a file.
    func read(_ file: FileData, limit: Int, path: String) throws -> FileContent {
        let wanted = Int(min(UInt64(limit), file.size))
        var out: [UInt8] = []
        out.reserveCapacity(wanted)
        var offset = file.start
        for word in file.blocks where out.count < wanted {
            let expected = Int(min(UInt64(blockSize), file.size - UInt64(out.count)))
            out += try block(at: offset, word: word, expected: expected, path: path)
            offset += UInt64(word & 0xff_ffff)
        }
        if out.count < wanted, file.fragment != 0xffff_ffff {
            guard Int(file.fragment) < fragments.count else {
                throw FileTreeError(.unreadable, path: path, "fragment \(file.fragment) is not in the fragment table")
            }
            let fragment = fragments[Int(file.fragment)]
            let whole = try block(at: fragment.start, word: fragment.size, expected: nil, path: path)
            let tail = Int(file.size % UInt64(blockSize)), from = Int(file.fragmentOffset)
            guard from + tail <= whole.count else { throw FileTreeError(.unreadable, path: path, "fragment tail out of bounds") }
            out += whole[from..<(from + tail)]
        }
        return FileContent(bytes: Array(out.prefix(wanted)), truncated: file.size > UInt64(limit))
    }
}
