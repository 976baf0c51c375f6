import CTextScan
import RBCore

/// Where the key words of a generic credential assignment start in a file: what the regex
/// `(?i)pass|pwd|secret|token|key` (`CredentialCheck.keywords`) finds, leftmost and
/// non-overlapping, as offsets. It only places the windows the generic assignment pattern runs
/// in, but it runs over every byte of every config-like file: PCRE2 tries a match at each of the
/// eight first letters (p, s, t, k in both cases), some 450 MB/s, the largest single cost of a
/// text-heavy image. `rb_credential_keywords` (C, SSE2) tests 16 offsets at a time for a key
/// word's first two letters (case-folded `pa`/`pw`, `se`, `to`, `ke`: 2-3% of text offsets) and
/// checks only those.
///
/// In UTF-8 mode PCRE2 folds `k` to KELVIN SIGN (U+212A) and `s` to LONG S (U+017F) as well: a
/// file holding either is handed to the regex, so the offsets are always the regex's.
struct KeywordScan: Sendable {
    let regex: Regex
    /// The other case forms PCRE2 gives `k` and `s` in UTF mode, in UTF-8.
    private static let unicodeFolds: [[UInt8]] = [[0xE2, 0x84, 0xAA], [0xC5, 0xBF]]

    init() throws(RegexError) {
        regex = try Regex(CredentialCheck.keywords)
    }

    /// Offsets of at most `limit` key words, ascending.
    func starts(in bytes: [UInt8], limit: Int) -> [Int] {
        let folded = bytes.withUnsafeBufferPointer { buffer in
            Self.unicodeFolds.contains { ByteScan.find($0, in: buffer) != nil }
        }
        if folded { return regex.matches(in: bytes, limit: limit).map(\.range.lowerBound) }
        return bytes.withUnsafeBufferPointer { Self.scan($0, limit: limit) }
    }

    static func scan(_ h: UnsafeBufferPointer<UInt8>, limit: Int) -> [Int] {
        guard let base = h.baseAddress, limit > 0 else { return [] }
        // Words are three bytes or more and do not overlap.
        let most = min(limit, h.count / 3 + 1)
        return [Int](unsafeUninitializedCapacity: most) { out, count in
            count = rb_credential_keywords(base, h.count, out.baseAddress!, most)
        }
    }
}
