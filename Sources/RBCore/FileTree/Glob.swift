#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A path pattern over tree-relative paths.
///
/// - `*`, `?` and `[...]` match within one path component (through `fnmatch(3)`), and do match
///   names that start with a dot: a scanner must not skip hidden files.
/// - `**` as a whole component matches zero or more components.
/// - `{a,b}` alternatives are expanded first (nesting allowed).
/// - A leading `/` is ignored: `/etc/passwd` and `etc/passwd` are the same pattern.
public struct Glob: Hashable, Sendable, CustomStringConvertible {
    enum Segment: Hashable, Sendable {
        case literal(String)
        case pattern(String)
        case globstar
        /// `*.conf`: any name ending so (byte comparison, no fnmatch).
        case suffix(String)
        /// `S*`: any name starting so.
        case prefix(String)
        /// `*key*`: any name containing it.
        case contains(String)
        /// `*`: any name.
        case any
    }

    public let pattern: String
    /// One entry per brace alternative, prepared for matching.
    let compiled: [Alternative]

    public init(_ pattern: String) throws(GlobError) {
        self.pattern = pattern
        var trimmed = Substring(pattern)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        guard !trimmed.isEmpty else { throw GlobError(pattern: pattern, message: "empty pattern") }
        let expanded = try Glob.expandBraces(String(trimmed), pattern: pattern)
        compiled = expanded.map { alternative in
            alternative.split(separator: "/", omittingEmptySubsequences: true).compactMap { part -> Segment? in
                if part == "**" { return .globstar }
                if part == "." { return nil }
                if part == "*" { return .any }
                let special: (Character) -> Bool = { $0 == "*" || $0 == "?" || $0 == "[" || $0 == "\\" }
                if part.count > 2, part.hasPrefix("*"), part.hasSuffix("*"), !part.dropFirst().dropLast().contains(where: special) {
                    return .contains(String(part.dropFirst().dropLast()))
                }
                if part.hasPrefix("*"), !part.dropFirst().contains(where: special) { return .suffix(String(part.dropFirst())) }
                if part.hasSuffix("*"), !part.dropLast().contains(where: special) { return .prefix(String(part.dropLast())) }
                if part.contains(where: special) {
                    return .pattern(String(part))
                }
                return .literal(String(part))
            }
        }.map(Alternative.init)
    }

    public var description: String { pattern }

    /// Whether the pattern selects every file wherever it is (`**`, `**/*`): a whole-tree pass.
    public var selectsEverything: Bool {
        compiled.contains { alternative in
            alternative.segments == [.globstar] || alternative.segments == [.globstar, .any]
        }
    }

    /// Whether `path` (tree-relative) matches.
    public func matches(_ path: String) -> Bool {
        compiled.contains { $0.matches(path) }
    }

    /// Whether the last path component `name` matches the pattern's last segment; used to decide
    /// whether a single config file is one a rule is written for.
    public func matchesBasename(_ name: String) -> Bool {
        compiled.contains { alternative in
            alternative.segments.last.map { Glob.matchName($0, Substring(name)) } ?? false
        }
    }

    static func matchSegments(_ segments: ArraySlice<Segment>, _ components: ArraySlice<Substring>) -> Bool {
        guard let first = segments.first else { return components.isEmpty }
        switch first {
        case .globstar:
            let rest = segments.dropFirst()
            var tail = components
            while true {
                if matchSegments(rest, tail) { return true }
                if tail.isEmpty { return false }
                tail = tail.dropFirst()
            }
        case .literal(let text):
            guard let component = components.first, component == text else { return false }
            return matchSegments(segments.dropFirst(), components.dropFirst())
        case .pattern, .suffix, .prefix, .contains, .any:
            guard let component = components.first, matchName(first, component) else { return false }
            return matchSegments(segments.dropFirst(), components.dropFirst())
        }
    }

    static func expandBraces(_ text: String, pattern: String) throws(GlobError) -> [String] {
        let chars = Array(text)
        guard let open = chars.firstIndex(of: "{") else { return [text] }
        var depth = 0
        var close: Int?
        var commas: [Int] = []
        for i in open..<chars.count {
            switch chars[i] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { close = i }
            case "," where depth == 1: commas.append(i)
            default: break
            }
            if close != nil { break }
        }
        guard let close else { throw GlobError(pattern: pattern, message: "unbalanced '{'") }
        let head = String(chars[..<open])
        let tail = String(chars[(close + 1)...])
        let bounds = [open] + commas + [close]
        var results: [String] = []
        for k in 0..<(bounds.count - 1) {
            let option = String(chars[(bounds[k] + 1)..<bounds[k + 1]])
            results += try expandBraces(head + option + tail, pattern: pattern)
        }
        return results
    }
}

/// A pattern that cannot be compiled.
public struct GlobError: Error, Sendable, CustomStringConvertible {
    public var pattern: String
    public var message: String
    public var description: String { "invalid path pattern '\(pattern)': \(message)" }
}

extension Glob {
    /// Whether one segment matches a single name.
    static func matchName(_ segment: Segment, _ name: Substring) -> Bool {
        switch segment {
        case .globstar: return true
        case .literal(let text): return text.utf8.elementsEqual(name.utf8)
        case .pattern(let text): return fnmatch(text, String(name), 0) == 0
        case .suffix(let text): return name.utf8.count >= text.utf8.count && name.utf8.reversed().starts(with: text.utf8.reversed())
        case .prefix(let text): return name.utf8.starts(with: text.utf8)
        case .contains(let text):
            var name = String(name)
            return name.withUTF8 { ByteScan.contains(Array(text.utf8), in: $0) }
        case .any: return true
        }
    }

    /// One brace alternative, with the shape that decides how it is matched.
    struct Alternative: Sendable, Hashable {
        let segments: [Segment]
        /// Each segment's text as bytes (a `.pattern` NUL-terminated for fnmatch), for matching
        /// without building strings.
        let bytes: [[UInt8]]
        /// The leading literal directory (`etc/init.d` for `etc/init.d/S*`).
        let literalPrefix: String
        /// `**/a/b*` (a globstar, then no other): only the last components need looking at,
        /// with no allocation; the common shape in rules.
        let suffix: [Segment]?
        /// `prefix/**` or `**`: everything below the literal prefix (and the prefix) matches.
        let everythingUnderPrefix: Bool
        /// Texts any matching path contains (its literal, prefix and suffix segments after the
        /// literal prefix): `**/cgi-bin/**` rejects a path without `cgi-bin` before splitting it.
        let requiredTexts: [[UInt8]]

        static func == (a: Alternative, b: Alternative) -> Bool { a.segments == b.segments }
        func hash(into hasher: inout Hasher) { hasher.combine(segments) }

        init(_ segments: [Segment]) {
            self.segments = segments
            bytes = segments.map { segment in
                switch segment {
                case .literal(let text), .suffix(let text), .prefix(let text), .contains(let text): return Array(text.utf8)
                case .pattern(let text): return Array(text.utf8) + [0]
                case .globstar, .any: return []
                }
            }
            var parts: [String] = []
            for segment in segments {
                guard case .literal(let text) = segment else { break }
                parts.append(text)
            }
            literalPrefix = parts.joined(separator: "/")
            everythingUnderPrefix = segments.count == parts.count + 1 && segments.last == .globstar
            if case .globstar? = segments.first, !segments.dropFirst().contains(.globstar), segments.count > 1 {
                suffix = Array(segments.dropFirst())
            } else {
                suffix = nil
            }
            requiredTexts = segments.dropFirst(parts.count).compactMap { segment -> [UInt8]? in
                switch segment {
                case .literal(let text), .prefix(let text), .suffix(let text), .contains(let text): return text.isEmpty ? nil : Array(text.utf8)
                default: return nil
                }
            }
        }

        /// Whether segment `k` matches the name `name` (bytes of one path component).
        func matchName(_ k: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
            let text = bytes[k]
            switch segments[k] {
            case .globstar, .any: return true
            case .literal:
                return name.count == text.count && Alternative.equal(text, name, at: 0)
            case .suffix:
                return name.count >= text.count && Alternative.equal(text, name, at: name.count - text.count)
            case .prefix:
                return name.count >= text.count && Alternative.equal(text, name, at: 0)
            case .contains:
                return name.count >= text.count && ByteScan.contains(text, in: name)
            case .pattern:
                return withUnsafeTemporaryAllocation(of: CChar.self, capacity: name.count + 1) { buffer in
                    for i in 0..<name.count { buffer[i] = CChar(bitPattern: name[i]) }
                    buffer[name.count] = 0
                    return text.withUnsafeBufferPointer { pattern in
                        pattern.withMemoryRebound(to: CChar.self) { fnmatch($0.baseAddress!, buffer.baseAddress!, 0) == 0 }
                    }
                }
            }
        }

        /// Segments `k...` against the path components (byte ranges of `path`).
        func matchSegments(from k: Int, _ components: ArraySlice<Range<Int>>, in path: UnsafeBufferPointer<UInt8>) -> Bool {
            guard k < segments.count else { return components.isEmpty }
            if case .globstar = segments[k] {
                var tail = components
                while true {
                    if matchSegments(from: k + 1, tail, in: path) { return true }
                    if tail.isEmpty { return false }
                    tail = tail.dropFirst()
                }
            }
            guard let first = components.first, matchName(k, UnsafeBufferPointer(rebasing: path[first])) else { return false }
            return matchSegments(from: k + 1, components.dropFirst(), in: path)
        }

        /// Whether `text` appears in `name` at `offset` (the caller checked the length).
        static func equal(_ text: [UInt8], _ name: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
            var i = 0
            while i < text.count {
                if text[i] != name[offset + i] { return false }
                i += 1
            }
            return true
        }

        func matches(_ path: String) -> Bool {
            var path = path
            return path.withUTF8 { matches(bytes: $0) }
        }

        /// `matches` on the path's UTF-8 bytes.
        func matches(bytes path: UnsafeBufferPointer<UInt8>) -> Bool {
            if everythingUnderPrefix {
                // The index already narrowed to the prefix's range; on its own, check the prefix.
                if path.isEmpty { return false }
                if literalPrefix.isEmpty { return true }
                let prefix = literalPrefix.utf8
                guard path.count >= prefix.count, path.starts(with: prefix) else { return false }
                return path.count == prefix.count || path[prefix.count] == UInt8(ascii: "/")
            }
            guard let suffix else {
                // Cheap rejection on the last component before splitting the path.
                if let last = segments.last, last != .globstar {
                    let start = (path.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
                    if !matchName(segments.count - 1, UnsafeBufferPointer(rebasing: path[start...])) { return false }
                }
                for text in requiredTexts where ByteScan.find(text, in: path) == nil { return false }
                var components: [Range<Int>] = []
                var start = 0
                for i in 0...path.count where i == path.count || path[i] == UInt8(ascii: "/") {
                    if i > start { components.append(start..<i) }
                    start = i + 1
                }
                return matchSegments(from: 0, components[...], in: path)
            }
            // Segments of the suffix are segments 1... of the alternative.
            var end = path.count
            for k in stride(from: suffix.count - 1, through: 0, by: -1) {
                guard end > 0 else { return false }
                var start = end
                while start > 0, path[start - 1] != UInt8(ascii: "/") { start -= 1 }
                guard matchName(k + 1, UnsafeBufferPointer(rebasing: path[start..<end])) else { return false }
                if start == 0 { return k == 0 }
                end = start - 1
            }
            return true
        }
    }
}
