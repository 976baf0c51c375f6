#if canImport(Glibc)
import Glibc
#endif
import CTextScan

/// Which of many literal names occur in a text, found in one pass over its bytes (case
/// sensitive, substring semantics like `ByteSearch.contains`). A Teddy scan (`teddy`) finds
/// the few offsets where a name may start, 16 at a time; there the names are bucketed by their
/// first two bytes, and a name is compared only where its first two bytes are. Searching a file
/// for each of 150 names with memchr + memcmp scanned it 150 times and called memcmp at every
/// occurrence of each first byte.
struct LiteralSet: Sendable {
    let names: [String]
    /// Each name's UTF-8 bytes, by the index `occurrences` reports.
    let bytes: [[UInt8]]
    /// The names of two bytes or more by their first two bytes (`bucket`, big-endian): `keys`
    /// sorted, `members` the name at each place (`members(of:in:)` finds a key's run).
    private let keys: [UInt16]
    private let members: [Int32]
    /// Bit k: some name starts with the two bytes k (8 KB, which stays in the first-level
    /// cache): most candidates of the scan stop here, in C.
    private let pairs: [UInt64]
    /// Each name's first four bytes (fewer for a shorter name) as a little-endian word, and the
    /// mask of the bytes it has: most offsets whose first two bytes start a name are told apart
    /// by one load and compare, without a memcmp call.
    private let prefixes: [(word: UInt32, mask: UInt32)]
    /// Names of one byte, found with memchr.
    private let single: [Int]
    /// The Teddy tables of the names' first `width` bytes (see `rb_teddy_candidates`): the
    /// scan finds, 16 offsets at a time, the few where a name may start, and looks the names up
    /// only there, not at every offset (a per-offset look-up in a 256 KiB table cost a
    /// nanosecond a byte of text).
    private let teddy: [UInt8]
    /// 3 when every name has three bytes or more (their first three bytes are far rarer in
    /// text than their first two), else 2.
    private let width: Int32

    static let buckets = 65536

    @inline(__always)
    static func bucket(_ first: UInt8, _ second: UInt8) -> Int { Int(first) << 8 | Int(second) }

    /// The run of `members` whose first two bytes are `key`, by binary search in `keys` (a
    /// 65,536-entry table of runs took 256 KB a set; the pair bitmap already turned away the
    /// offsets no name starts at).
    @inline(__always)
    static func members(of key: Int, in keys: UnsafeBufferPointer<UInt16>) -> (Int, Int) {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) >> 1
            if Int(keys[mid]) < key { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < keys.count, Int(keys[end]) == key { end += 1 }
        return (low, end)
    }

    init(_ names: [String]) {
        self.names = names
        bytes = names.map { Array($0.utf8) }
        // Sorted by their first two bytes (then by index, as the names were given).
        var single: [Int] = []
        var keyed: [(key: Int, name: Int32)] = []
        for (i, name) in bytes.enumerated() {
            switch name.count {
            case 0: continue
            case 1: single.append(i)
            default: keyed.append((Self.bucket(name[0], name[1]), Int32(i)))
            }
        }
        keyed.sort { $0.key != $1.key ? $0.key < $1.key : $0.name < $1.name }
        var pairs = [UInt64](repeating: 0, count: Self.buckets / 64)
        for (key, _) in keyed { pairs[key >> 6] |= UInt64(1) << UInt64(key & 63) }
        self.pairs = pairs
        self.keys = keyed.map { UInt16($0.key) }
        self.members = keyed.map(\.name)
        self.single = single
        let width = !bytes.isEmpty && bytes.allSatisfy({ $0.count >= 3 }) ? 3 : 2
        var teddy = [UInt8](repeating: 0, count: 96)
        // Eight buckets of names in byte order, one run of it each: a bucket's names share
        // first bytes, so its nibble masks stay sparse (dealt in turn, every bucket held names
        // of most first letters, and the scan let through far more offsets).
        let encoded = bytes
        let ordered = encoded.indices.filter { encoded[$0].count >= width }.sorted { encoded[$0].lexicographicallyPrecedes(encoded[$1]) }
        for (j, i) in ordered.enumerated() {
            let name = encoded[i]
            let bit = UInt8(1) << UInt8(j * 8 / ordered.count)
            for k in 0..<width {
                teddy[16 * k + Int(name[k] & 15)] |= bit
                teddy[48 + 16 * k + Int(name[k] >> 4)] |= bit
            }
        }
        self.teddy = teddy
        self.width = Int32(width)
        prefixes = bytes.map { name in
            var word: UInt32 = 0, mask: UInt32 = 0
            for (i, byte) in name.prefix(4).enumerated() {
                word |= UInt32(byte) << (8 * UInt32(i))
                mask |= 0xff << (8 * UInt32(i))
            }
            return (word, mask)
        }
    }

    /// Every occurrence of every name in `bytes`, overlapping ones included, by offset (then by
    /// name order): `(name index, offset)`. Stops after `limit` occurrences.
    func occurrences(in bytes: [UInt8], limit: Int = .max) -> [(name: Int, offset: Int)] {
        var hits: [(name: Int, offset: Int)] = []
        bytes.withUnsafeBufferPointer { h in
            guard let base = h.baseAddress, h.count > 0 else { return }
            pairs.withUnsafeBufferPointer { pairs in keys.withUnsafeBufferPointer { keys in
                members.withUnsafeBufferPointer { members in
                    /// The names starting at `position` (whose two bytes begin some name).
                    func match(at position: Int) {
                        let key = Self.bucket(h[position], h[position + 1])
                        guard pairs[key >> 6] & (UInt64(1) << UInt64(key & 63)) != 0 else { return }
                        let (low, high) = Self.members(of: key, in: keys)
                        let word = position + 4 <= h.count ? UInt32(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self)) : nil
                        for m in low..<high {
                            let name = Int(members[m])
                            let candidate = self.bytes[name]
                            guard candidate.count <= h.count - position else { continue }
                            if let word {
                                let prefix = prefixes[name]
                                guard word & prefix.mask == prefix.word else { continue }
                                if candidate.count <= 4 {
                                    hits.append((name, position))
                                    continue
                                }
                            }
                            if candidate.withUnsafeBufferPointer({ memcmp(base + position, $0.baseAddress!, $0.count) == 0 }) {
                                hits.append((name, position))
                            }
                        }
                    }
                    if single.isEmpty {
                        // The offsets where a name may start, from C, a batch at a time.
                        candidates(in: h) { offsets in
                            for offset in offsets {
                                match(at: Int(offset))
                                if hits.count >= limit { return false }
                            }
                            return true
                        }
                        return
                    }
                    for position in 0..<h.count {
                        let current = h[position]
                        for i in single where self.bytes[i][0] == current { hits.append((i, position)) }
                        guard position + 1 < h.count else { break }
                        match(at: position)
                        if hits.count >= limit { return }
                    }
                }
            } }
        }
        return hits.count > limit ? Array(hits.prefix(limit)) : hits
    }

    /// Calls `body` with batches of the offsets of `h` where a name of two bytes or more may
    /// start, ascending, until it returns false or the text ends.
    private func candidates(in h: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt32>) -> Bool) {
        guard let base = h.baseAddress, h.count > 1 else { return }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1024) { found in
            teddy.withUnsafeBufferPointer { teddy in
                pairs.withUnsafeBufferPointer { pairs in
                    var start = 0
                    while start < h.count {
                        let count = rb_teddy_candidates(base, h.count, &start, teddy.baseAddress!, width, pairs.baseAddress!,
                                                        found.baseAddress!, found.count)
                        if count > 0, !body(UnsafeBufferPointer(rebasing: found[..<count])) { return }
                        if count < found.count { return }
                    }
                }
            }
        }
    }

    /// The names `text` contains.
    func present(in text: String) -> Set<String> {
        var text = text
        return text.withUTF8 { present(in: $0) }
    }

    /// The names `bytes` contain (the names are ASCII, so UTF-8 repair changes nothing).
    func present(in content: [UInt8]) -> Set<String> {
        content.withUnsafeBufferPointer { present(in: $0) }
    }

    /// Which names `bytes` contain, as bits (name i: bit i): what a pass keeps per file at
    /// 24 bytes, where a set of strings took a few hundred.
    func presentBits(in content: [UInt8]) -> NameBits {
        content.withUnsafeBufferPointer { NameBits(found(in: $0)) }
    }

    func presentBits(in text: String) -> NameBits {
        var text = text
        return text.withUTF8 { NameBits(found(in: $0)) }
    }

    private func present(in h: UnsafeBufferPointer<UInt8>) -> Set<String> {
        var result = Set<String>()
        for (i, hit) in found(in: h).enumerated() where hit { result.insert(names[i]) }
        return result
    }

    private func found(in h: UnsafeBufferPointer<UInt8>) -> [Bool] {
        var found = [Bool](repeating: false, count: bytes.count)
        var remaining = bytes.filter { !$0.isEmpty }.count
        do {
            guard let base = h.baseAddress, h.count > 0 else { return found }
            for i in single where memchr(base, Int32(bytes[i][0]), h.count) != nil {
                found[i] = true
                remaining -= 1
            }
            keys.withUnsafeBufferPointer { keys in
                members.withUnsafeBufferPointer { members in
                    /// `position` comes from `candidates`, whose C scan has already checked the
                    /// pair bitmap.
                    func match(at position: Int) {
                        let (low, high) = Self.members(of: Self.bucket(h[position], h[position + 1]), in: keys)
                        for m in low..<high {
                            let name = Int(members[m])
                            guard !found[name] else { continue }
                            let candidate = bytes[name]
                            guard candidate.count <= h.count - position else { continue }
                            let equal = candidate.withUnsafeBufferPointer { memcmp(base + position, $0.baseAddress!, $0.count) == 0 }
                            if equal {
                                found[name] = true
                                remaining -= 1
                            }
                        }
                    }
                    // The offsets where a name may start, from C, a batch at a time.
                    if remaining > 0 {
                        candidates(in: h) { offsets in
                            for offset in offsets where remaining > 0 { match(at: Int(offset)) }
                            return remaining > 0
                        }
                    }
                }
            }
        }
        return found
    }
}

/// A set of a `LiteralSet`'s names by index: two words inline (128 names), more beside.
struct NameBits: Sendable, Equatable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    var rest: [UInt64]?

    init() {}

    init(_ found: [Bool]) {
        for (i, hit) in found.enumerated() where hit { insert(i) }
    }

    var isEmpty: Bool { low == 0 && high == 0 && (rest ?? []).allSatisfy { $0 == 0 } }

    mutating func insert(_ i: Int) {
        let bit = UInt64(1) << UInt64(i & 63)
        switch i >> 6 {
        case 0: low |= bit
        case 1: high |= bit
        default:
            var words = rest ?? []
            while words.count <= (i >> 6) - 2 { words.append(0) }
            words[(i >> 6) - 2] |= bit
            rest = words
        }
    }

    func intersects(_ other: NameBits) -> Bool {
        if low & other.low != 0 || high & other.high != 0 { return true }
        guard let mine = rest, let theirs = other.rest else { return false }
        return zip(mine, theirs).contains { $0 & $1 != 0 }
    }
}
