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
