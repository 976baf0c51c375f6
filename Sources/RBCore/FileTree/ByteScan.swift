#if canImport(Glibc)
import Glibc
#endif

/// Literal byte search for the scanners that look through large binaries.
public enum ByteScan {
    /// Whether the first `within` bytes (all by default) hold a NUL: `memchr`, vectorised, where
    /// `Array.contains(0)` tests byte by byte.
    public static func hasNUL(_ bytes: [UInt8], within: Int = .max) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return memchr(base, 0, min(within, buffer.count)) != nil
        }
    }

    /// The offset of the first `needle` in `haystack`, or nil: `memchr` (vectorised) to each
    /// occurrence of the first byte, then a compare. Far faster than glibc's generic `memmem`
    /// when the first byte is uncommon, as `-` and `P` are in binaries.
    public static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = haystack.baseAddress, let first = needle.first, haystack.count >= needle.count else { return nil }
        let last = haystack.count - needle.count
        return needle.withUnsafeBufferPointer { n -> Int? in
            var offset = 0
            while offset <= last, let hit = memchr(base + offset, Int32(first), last - offset + 1) {
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + at, n.baseAddress!, n.count) == 0 { return at }
                offset = at + 1
            }
            return nil
        }
    }

    public static func contains(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Bool {
        find(needle, in: haystack) != nil
    }

    /// Which of `needles` occur in `haystack`, in one `memchr` pass when the needles share a
    /// byte (the key markers share `-`): each occurrence of that byte is checked against every
    /// needle still missing, at the byte's offset in it. A needle's first byte can be common in
    /// machine code (`P`, push rax): one pass to a shared rarer byte beats one pass per needle.
    /// Needles with no byte in common are searched one by one.
    public static func present(_ needles: [[UInt8]], in haystack: UnsafeBufferPointer<UInt8>, skipping known: [Bool]? = nil) -> [Bool] {
        var found = known ?? [Bool](repeating: false, count: needles.count)
        guard let base = haystack.baseAddress, !needles.isEmpty, !needles.contains(where: \.isEmpty) else { return found }
        guard let anchor = sharedByte(needles) else {
            for (i, needle) in needles.enumerated() where !found[i] { found[i] = contains(needle, in: haystack) }
            return found
        }
        let offsets = needles.map { $0.firstIndex(of: anchor)! }
        var missing = found.filter { !$0 }.count
        var from = 0
        while missing > 0, from < haystack.count, let hit = memchr(base + from, Int32(anchor), haystack.count - from) {
            let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            for (i, needle) in needles.enumerated() where !found[i] {
                let start = at - offsets[i]
                guard start >= 0, start + needle.count <= haystack.count else { continue }
                if needle.withUnsafeBufferPointer({ memcmp(base + start, $0.baseAddress!, needle.count) }) == 0 {
                    found[i] = true
                    missing -= 1
                }
            }
            from = at + 1
        }
        return found
    }

    /// A byte every needle holds: the least common in machine code and text among them, by a
    /// rough order (punctuation, then upper case, then the rest).
    static func sharedByte(_ needles: [[UInt8]]) -> UInt8? {
        var shared = Set(needles[0])
        for needle in needles.dropFirst() { shared.formIntersection(needle) }
        func rank(_ byte: UInt8) -> Int {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "~"), UInt8(ascii: "|"), UInt8(ascii: "^"): 0
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): 1
            case 0, 0xff: 3
            default: 2
            }
        }
        return shared.min { (rank($0), $0) < (rank($1), $1) }
    }
}

/// Byte order of paths (what every tree index sorts by), compared with `memcmp` on the UTF-8
/// storage instead of element by element.
public enum PathOrder {
    public static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                if common > 0, let xb = x.baseAddress, let yb = y.baseAddress {
                    let order = memcmp(xb, yb, common)
                    if order != 0 { return order < 0 }
                }
                return x.count < y.count
            }
        }
    }
}
