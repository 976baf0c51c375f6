import CPCRE2
import RBCore

/// A compiled regular expression: PCRE2 (Perl syntax) with its JIT, matched directly on bytes.
///
/// `^` and `$` anchor at line starts and ends. Subjects are UTF-8 where valid; invalid bytes
/// (binary files) never match a character but do not stop the search
/// (`PCRE2_MATCH_INVALID_UTF`). A compiled pattern is immutable and PCRE2 documents it as safe
/// to match from several threads at once; each match uses its own match data.
public final class Regex: @unchecked Sendable {
    private let code: OpaquePointer
    public let pattern: String

    public init(_ pattern: String, ignoreCase: Bool = false) throws(RegexError) {
        self.pattern = pattern
        var options = UInt32(PCRE2_MULTILINE) | UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF)
        if ignoreCase { options |= UInt32(PCRE2_CASELESS) }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &message, message.count)
            let text = n > 0 ? String(decoding: message[0..<Int(n)], as: UTF8.self) : "error \(errorCode)"
            throw RegexError(pattern: pattern, message: "\(text) at offset \(errorOffset)")
        }
        // JIT is an optimisation: if it is unavailable the interpreter gives the same results.
        _ = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))
        code = compiled
    }

    deinit { pcre2_code_free_8(code) }

    /// The byte range of the named group `name` in `match` (nil: no such group, or unset).
    public func group(named name: String, in match: Match) -> Range<Int>? {
        let number = Array(name.utf8 + [0]).withUnsafeBufferPointer { pcre2_substring_number_from_name_8(code, $0.baseAddress) }
        guard number > 0, Int(number) - 1 < match.groups.count else { return nil }
        return match.groups[Int(number) - 1]
    }

    /// A match: the byte range of the whole match and of each capture group (nil when a group
    /// did not take part).
    public struct Match: Sendable {
        public var range: Range<Int>
        public var groups: [Range<Int>?]
    }

    /// Every non-overlapping match in `bytes`, in order.
    public func matches(in bytes: [UInt8], limit: Int = .max) -> [Match] {
        matches(in: bytes, within: 0..<bytes.count, limit: limit)
    }

    /// Every non-overlapping match lying inside `range` of `bytes`, in order. Lookbehinds (`\b`)
    /// still see the bytes before the range; `$` does not match at a range end that is not the
    /// end of `bytes`.
    public func matches(in bytes: [UInt8], within range: Range<Int>, limit: Int = .max) -> [Match] {
        guard let data = pcre2_match_data_create_from_pattern_8(code, nil) else { return [] }
        defer { pcre2_match_data_free_8(data) }
        var results: [Match] = []
        let unset = rb_pcre2_unset()
        bytes.withUnsafeBufferPointer { buffer in
            // An empty buffer has no base address; PCRE2 wants a valid pointer.
            var empty: UInt8 = 0
            let subject = buffer.baseAddress ?? withUnsafePointer(to: &empty) { $0 }
            let end = min(range.upperBound, buffer.count)
            let options: UInt32 = end < buffer.count ? UInt32(PCRE2_NOTEOL) : 0
            var start = range.lowerBound
            while start <= end && results.count < limit {
                let rc = pcre2_match_8(code, subject, end, start, options, data, nil)
                if rc < 0 { break }
                let count = Int(pcre2_get_ovector_count_8(data))
                guard let vector = pcre2_get_ovector_pointer_8(data) else { break }
                var groups: [Range<Int>?] = []
                for i in 0..<count {
                    let from = vector[2 * i], to = vector[2 * i + 1]
                    groups.append(from == unset || to == unset ? nil : Int(from)..<Int(to))
                }
                guard let whole = groups.first ?? nil else { break }
                results.append(Match(range: whole, groups: Array(groups.dropFirst())))
                if whole.isEmpty {
                    // Step over an empty match to the next character boundary.
                    start = whole.upperBound + 1
                    while start < end, buffer[start] & 0xC0 == 0x80 { start += 1 }
                } else {
                    start = whole.upperBound
                }
            }
        }
        return results
    }

    /// Whether `bytes` contain a match.
    public func hasMatch(in bytes: [UInt8]) -> Bool { !matches(in: bytes, limit: 1).isEmpty }

    /// The first match in `text`: the matched text and its groups.
    public func firstMatch(in text: String) -> [String?]? {
        let bytes = Array(text.utf8)
        guard let match = matches(in: bytes, limit: 1).first else { return nil }
        return [String(decoding: bytes[match.range], as: UTF8.self)]
            + match.groups.map { $0.map { String(decoding: bytes[$0], as: UTF8.self) } }
    }
}

public struct RegexError: Error, Sendable, CustomStringConvertible {
    public var pattern: String
    public var message: String
    public var description: String { "invalid regular expression '\(pattern)': \(message)" }
}

/// Where a pattern needs to run when every match contains a literal: byte ranges around the
/// literal's occurrences, merged where they touch.
enum SearchWindows {
    /// Merged ranges reaching `before` bytes before and `after` bytes after each offset (sorted).
    static func around(_ offsets: [Int], in count: Int, before: Int, after: Int) -> [Range<Int>] {
        var windows: [Range<Int>] = []
        for offset in offsets {
            let window = max(0, offset - before)..<min(count, offset + after)
            if let last = windows.last, last.upperBound >= window.lowerBound {
                windows[windows.count - 1] = last.lowerBound..<max(last.upperBound, window.upperBound)
            } else {
                windows.append(window)
            }
        }
        return windows
    }

    /// The merged windows around every occurrence of `literal` in `bytes` (`margin` bytes each
    /// side, the literal included).
    static func around(_ literal: [UInt8], in bytes: [UInt8], margin: Int) -> [Range<Int>] {
        var offsets: [Int] = []
        bytes.withUnsafeBufferPointer { buffer in
            var from = 0
            while from < buffer.count, let hit = ByteScan.find(literal, in: UnsafeBufferPointer(rebasing: buffer[from...])) {
                offsets.append(from + hit)
                from += hit + 1
            }
        }
        return around(offsets, in: bytes.count, before: margin, after: literal.count + margin)
    }
}
