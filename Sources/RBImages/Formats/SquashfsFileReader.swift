import RBCore
import Synchronization

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
    /// The last few fragment blocks decoded: files read in fragment order take their tails from
    /// one decoded block instead of decoding it once per file.
    private let recent = FragmentCache()

    init(source: ByteSource, codec: any SquashfsBlockCodec, blockSize: Int, fragments: [(start: UInt64, size: UInt32)]) {
        self.source = source
        self.codec = codec
        self.blockSize = blockSize
        self.fragments = fragments
    }

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
            let whole: [UInt8]
            if let cached = recent.block(file.fragment) {
                whole = cached
            } else {
                let fragment = fragments[Int(file.fragment)]
                whole = try block(at: fragment.start, word: fragment.size, expected: nil, path: path)
                recent.keep(whole, as: file.fragment)
            }
            let tail = Int(file.size % UInt64(blockSize)), from = Int(file.fragmentOffset)
            guard from + tail <= whole.count else { throw FileTreeError(.unreadable, path: path, "fragment tail out of bounds") }
            out += whole[from..<(from + tail)]
        }
        return FileContent(bytes: Array(out.prefix(wanted)), truncated: file.size > UInt64(limit))
    }
}

extension SquashfsFileReader {
    /// `files` in on-disk order (the files in fragment blocks by block and offset, then the others
    /// by first data block) with the fragment block each one lives in.
    static func ordered(_ files: [FileEntry], data: (FileEntry) -> FileData?) -> [(entry: FileEntry, fragment: UInt32?)] {
        ordered(files) { entry in data(entry).map(place(of:)) }
    }

    /// Where a file's bytes start: its fragment block and the offset there for a file wholly
    /// in a fragment, else no block and its first data block.
    static func place(of file: FileData) -> (fragment: UInt32?, offset: UInt64) {
        file.blocks.isEmpty && file.fragment != 0xffff_ffff ? (file.fragment, UInt64(file.fragmentOffset)) : (nil, file.start)
    }

    /// `files` in on-disk order, from where each one's bytes start: `place` gives its fragment
    /// block and the offset there for a file wholly in a fragment, else no block and its first
    /// data block (nil: not a file of the image, read last). Every squashfs reader's read order.
    static func ordered(_ files: [FileEntry], place: (FileEntry) -> (fragment: UInt32?, offset: UInt64)?) -> [(entry: FileEntry, fragment: UInt32?)] {
        func key(_ entry: FileEntry) -> (UInt32, UInt64) {
            guard let place = place(entry) else { return (UInt32.max, UInt64.max) }
            return (place.fragment ?? UInt32.max, place.offset)
        }
        return files.map { ($0, key($0)) }.sorted { $0.1 < $1.1 }
            .map { (entry: $0.0, fragment: $0.1.0 == UInt32.max ? nil : $0.1.0) }
    }

    /// `positions` (in the tree's index) in the same on-disk order as `ordered(_:place:)`, with
    /// the fragment block of each (`UInt32.max`: none), sorted as 16-byte records: the
    /// read-ahead pass orders every file of the image, and copies of the entries cost 80 bytes
    /// each, 48 MB at the peak for 200,000 files.
    static func ordered(positions: [Int32], place: (Int) -> (fragment: UInt32?, offset: UInt64)?) -> [(position: Int32, fragment: UInt32)] {
        var keyed: [(fragment: UInt32, position: Int32, offset: UInt64)] = []
        keyed.reserveCapacity(positions.count)
        for position in positions {
            let where_ = place(Int(position))
            keyed.append((where_.map { $0.fragment ?? UInt32.max } ?? UInt32.max, position, where_?.offset ?? UInt64.max))
        }
        // Ties in path order (the positions' order), as the stable sort of `ordered` keeps them.
        keyed.sort { ($0.fragment, $0.offset, $0.position) < ($1.fragment, $1.offset, $1.position) }
        return keyed.map { ($0.position, $0.fragment) }
    }

    /// Read batches of the files at `positions` for a tree that keeps its files' data by path
    /// (the native 2.x, 3.x and big-endian 4.0 readers).
    static func batches(_ positions: [Int32], size: Int, entries: [FileEntry], files: [String: FileData]) -> [ArraySlice<Int32>] {
        let keyed = ordered(positions: positions) { position -> (fragment: UInt32?, offset: UInt64)? in
            guard entries[position].type == .file, let file = files[entries[position].path] else { return nil }
            return place(of: file)
        }
        return batches(positions: keyed, size: size)
    }

    /// `batches` for positions (see `ordered(positions:place:)`).
    static func batches(positions keyed: [(position: Int32, fragment: UInt32)], size: Int) -> [ArraySlice<Int32>] {
        let order = keyed.map(\.position), size = max(1, size)
        var batches: [ArraySlice<Int32>] = []
        var start = 0
        while start < keyed.count {
            var end = min(start + size, keyed.count)
            while end < keyed.count, keyed[end - 1].fragment != UInt32.max, keyed[end].fragment == keyed[end - 1].fragment { end += 1 }
            batches.append(order[start..<end])
            start = end
        }
        return batches
    }

    /// Batches of about `size` files of `keyed` (in read order), none ending inside a fragment
    /// block's files: workers taking turns would each decode the block.
    static func batches(_ keyed: [(entry: FileEntry, fragment: UInt32?)], size: Int) -> [ArraySlice<FileEntry>] {
        let entries = keyed.map(\.entry), size = max(1, size)
        var batches: [ArraySlice<FileEntry>] = []
        var start = 0
        while start < keyed.count {
            var end = min(start + size, keyed.count)
            while end < keyed.count, let fragment = keyed[end - 1].fragment, keyed[end].fragment == fragment { end += 1 }
            batches.append(entries[start..<end])
            start = end
        }
        return batches
    }
}

/// A few decoded fragment blocks, shared by the readers of one tree (most recently used last).
final class FragmentCache: Sendable {
    private let blocks = Mutex<[(index: UInt32, bytes: [UInt8])]>([])
    /// Blocks kept: one per reader of the read-ahead pass, and a spare.
    static let capacity = 4

    func block(_ index: UInt32) -> [UInt8]? {
        blocks.withLock { all in all.last { $0.index == index }?.bytes }
    }

    func keep(_ bytes: [UInt8], as index: UInt32) {
        blocks.withLock { all in
            all.removeAll { $0.index == index }
            all.append((index, bytes))
            if all.count > Self.capacity { all.removeFirst(all.count - Self.capacity) }
        }
    }
}
