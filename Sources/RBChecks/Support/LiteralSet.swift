#if canImport(Glibc)
import Glibc
#endif

/// Which of many literal names occur in a text, found in one pass over its bytes (case
/// sensitive, substring semantics like `ByteSearch.contains`). Names are bucketed by their first
/// two bytes: each position of the text costs one table look-up, and a name is compared only
/// where its first two bytes are. Searching a file for each of 150 names with memchr + memcmp
/// scanned it 150 times and called memcmp at every occurrence of each first byte.
struct LiteralSet: Sendable {
    let names: [String]
    private let bytes: [[UInt8]]
    /// `members[heads[k]..<heads[k + 1]]`: the names whose first two bytes are `k` (big-endian).
    private let heads: [Int32]
    private let members: [Int32]
    /// Names of one byte, found with memchr.
    private let single: [Int]

    /// ASCII letters match in either case (`occurrences` only).
    private let foldCase: Bool

    init(_ names: [String], ignoringASCIICase: Bool = false) {
        self.names = names
        foldCase = ignoringASCIICase
        bytes = names.map { Array(ignoringASCIICase ? $0.lowercased().utf8 : $0.utf8) }
        var buckets = [[Int32]](repeating: [], count: 65536)
        var single: [Int] = []
        for (i, name) in bytes.enumerated() {
            switch name.count {
            case 0: continue
            case 1: single.append(i)
            default: buckets[Int(name[0]) << 8 | Int(name[1])].append(Int32(i))
            }
        }
        var heads: [Int32] = [0]
        heads.reserveCapacity(65537)
        var members: [Int32] = []
        for bucket in buckets {
            members.append(contentsOf: bucket)
            heads.append(Int32(members.count))
        }
        self.heads = heads
        self.members = members
        self.single = single
    }

    /// Every occurrence of every name in `bytes`, overlapping ones included, by offset (then by
    /// name order): `(name index, offset)`. Stops after `limit` occurrences.
    func occurrences(in bytes: [UInt8], limit: Int = .max) -> [(name: Int, offset: Int)] {
        var hits: [(name: Int, offset: Int)] = []
        bytes.withUnsafeBufferPointer { h in
            guard let base = h.baseAddress, h.count > 0 else { return }
            heads.withUnsafeBufferPointer { heads in
                members.withUnsafeBufferPointer { members in
                    let fold = foldCase
                    @inline(__always) func byte(_ i: Int) -> UInt8 {
                        let b = h[i]
                        return fold && b >= 0x41 && b <= 0x5A ? b | 0x20 : b
                    }
                    for position in 0..<h.count {
                        for i in single where self.bytes[i][0] == byte(position) {
                            hits.append((i, position))
                        }
                        guard position + 1 < h.count else { break }
                        let key = Int(byte(position)) << 8 | Int(byte(position + 1))
                        let low = Int(heads[key]), high = Int(heads[key + 1])
                        guard low != high else { continue }
                        for m in low..<high {
                            let name = Int(members[m])
                            let candidate = self.bytes[name]
                            guard candidate.count <= h.count - position else { continue }
                            let equal: Bool
                            if fold {
                                var j = 2
                                while j < candidate.count, byte(position + j) == candidate[j] { j += 1 }
                                equal = j == candidate.count
                            } else {
                                equal = candidate.withUnsafeBufferPointer { memcmp(base + position, $0.baseAddress!, $0.count) == 0 }
                            }
                            if equal { hits.append((name, position)) }
                        }
                        if hits.count >= limit { return }
                    }
                }
            }
        }
        return hits.count > limit ? Array(hits.prefix(limit)) : hits
    }

    /// The names `text` contains.
    func present(in text: String) -> Set<String> {
        var text = text
        var found = [Bool](repeating: false, count: bytes.count)
        var remaining = bytes.filter { !$0.isEmpty }.count
        text.withUTF8 { h in
            guard let base = h.baseAddress, h.count > 0 else { return }
            for i in single where memchr(base, Int32(bytes[i][0]), h.count) != nil {
                found[i] = true
                remaining -= 1
            }
            heads.withUnsafeBufferPointer { heads in
                members.withUnsafeBufferPointer { members in
                    var position = 0
                    let last = h.count - 1
                    while position < last, remaining > 0 {
                        let key = Int(h[position]) << 8 | Int(h[position + 1])
                        let low = Int(heads[key]), high = Int(heads[key + 1])
                        if low != high {
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
                        position += 1
                    }
                }
            }
        }
        var result = Set<String>()
        for (i, hit) in found.enumerated() where hit { result.insert(names[i]) }
        return result
    }
}
