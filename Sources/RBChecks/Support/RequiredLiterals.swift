import CTextScan

/// Texts one of which every match of a regular expression contains, read from the pattern: a
/// file holding none of them cannot match, and is passed over without running the expression
/// (nor blanking its comments first). `curl` for `\bcurl\b[^\n|;&]*\s(-k|--insecure)`,
/// `telnet` for `^\s*["']?telnetd?\b`, any of `user`, `login` for `[?&](?:user|login)=`.
///
/// The reading is conservative: a pattern using a construct it does not model (`\Q…\E`,
/// `(?x)`, conditionals, recursion, backreferences, `\x{…}`, verbs, a `{` that is not a
/// quantifier) has no requirement, and is always run. Only ASCII letters, digits and
/// punctuation make up a text (never whitespace: comment blanking turns comments into spaces,
/// so a text holding one could appear only after blanking). Under `(?i)` or `ignoreCase` the
/// texts are matched in either case, and `k` and `s` end a text: PCRE2's UTF mode also folds
/// them onto U+212A and U+017F.
struct RequiredLiterals: Sendable {
    /// Lower-cased when `caseless`.
    let literals: [[UInt8]]
    /// The index of each literal's rarest byte (the search anchors on it).
    let anchors: [Int]
    let caseless: Bool

    /// The shortest text worth a search: shorter ones occur in nearly every file.
    static let minimumLength = 3
    /// Beyond this many alternatives one search per alternative costs more than the expression.
    static let maximumAlternatives = 8

    init?(pattern: String, ignoreCase: Bool) {
        let bytes = Array(pattern.utf8)
        guard let caseless = Self.flags(bytes, ignoreCase: ignoreCase) else { return nil }
        var parser = Parser(bytes: bytes, caseless: caseless)
        let found = parser.alternation()
        guard parser.ok, parser.i == bytes.count, let found, !found.isEmpty, found.count <= Self.maximumAlternatives,
              found.allSatisfy({ $0.count >= Self.minimumLength }) else { return nil }
        var unique: [[UInt8]] = []
        for literal in found.map({ caseless ? $0.map(Self.lower) : $0 }) where !unique.contains(literal) { unique.append(literal) }
        literals = unique
        anchors = unique.map(Self.rarest)
        self.caseless = caseless
    }

    /// Whether `bytes` may hold a match: one of the literals occurs in it.
    func mayMatch(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        for (k, literal) in literals.enumerated() {
            let present = literal.withUnsafeBufferPointer {
                rb_literal_present(base, bytes.count, $0.baseAddress, $0.count, anchors[k], caseless ? 1 : 0)
            }
            if present != 0 { return true }
        }
        return false
    }

    func mayMatch(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { mayMatch($0) } }

    /// Whether the pattern matches case-insensitively anywhere (nil: `(?x)`, whose whitespace
    /// and `#` comments the parser does not model). Any `(?…i…)` flag group counts for the
    /// whole pattern: searching a case-sensitive part in either case only finds more.
    static func flags(_ bytes: [UInt8], ignoreCase: Bool) -> Bool? {
        var caseless = ignoreCase
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: "("), bytes[i + 1] == UInt8(ascii: "?") {
                var k = i + 2
                while k < bytes.count, Self.isFlag(bytes[k]) {
                    if bytes[k] == UInt8(ascii: "x") { return nil }
                    if bytes[k] == UInt8(ascii: "i") { caseless = true }
                    k += 1
                }
            }
            i += 1
        }
        return caseless
    }

    private static func isFlag(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "^")
    }

    static func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }

    /// The byte of `literal` least frequent in text: English letter order for letters, rarer
    /// still for digits and punctuation.
    static func rarest(_ literal: [UInt8]) -> Int {
        let common = Array("etaoinsrhldcumfpgwybvkxjqz".utf8)
        func rank(_ byte: UInt8) -> Int { common.firstIndex(of: lower(byte)) ?? common.count + 1 }
        var best = 0
        for k in literal.indices where rank(literal[k]) > rank(literal[best]) { best = k }
        return best
    }

    /// A recursive reading of the pattern's alternations, branches, groups and quantifiers.
    private struct Parser {
        let bytes: [UInt8]
        let caseless: Bool
        var i = 0
        var ok = true

        init(bytes: [UInt8], caseless: Bool) {
            self.bytes = bytes
            self.caseless = caseless
        }

        private func at(_ k: Int) -> UInt8? { k < bytes.count ? bytes[k] : nil }

        /// `branch ('|' branch)*`: every branch must contribute, and any of their texts may be
        /// the one present. nil: no requirement.
        mutating func alternation() -> [[UInt8]]? {
            var union: [[UInt8]]? = branch()
            while ok, at(i) == UInt8(ascii: "|") {
                i += 1
                let next = branch()
                if let next, let known = union { union = known + next } else { union = nil }
            }
            return union
        }

        /// Atoms up to `|`, `)` or the end: the best requirement among the literal runs and
        /// the required groups of the branch (every one of them must match).
        mutating func branch() -> [[UInt8]]? {
            var best: [[UInt8]]?
            var run: [UInt8] = []
            func consider(_ option: [[UInt8]]) {
                guard !option.isEmpty, option.count <= RequiredLiterals.maximumAlternatives else { return }
                let shortest = option.map(\.count).min() ?? 0
                guard let current = best else { best = option; return }
                let known = current.map(\.count).min() ?? 0
                if shortest > known || (shortest == known && option.count < current.count) { best = option }
            }
            func flush() {
                if !run.isEmpty { consider([run]) }
                run = []
            }
            func take(_ c: UInt8) {
                switch literal(c) {
                case .extend: run.append(c)
                case .extendAndEnd:
                    run.append(c)
                    flush()
                case .end: flush()
                }
            }
            while ok, i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "|") || c == UInt8(ascii: ")") { break }
                switch c {
                case UInt8(ascii: "("):
                    let (inner, counts) = group()
                    let least = quantifier()
                    flush()
                    if counts, let inner, (least ?? 1) >= 1 { consider(inner) }
                case UInt8(ascii: "["):
                    skipClass()
                    _ = quantifier()
                    flush()
                case UInt8(ascii: "\\"):
                    guard let e = at(i + 1) else { ok = false; break }
                    if !isAlphanumeric(e) {
                        i += 2
                        take(e)
                    } else if Array("bBAzZGsSdDwWhHvVRXCnrtfeaK".utf8).contains(e) {
                        i += 2
                        _ = quantifier()
                        flush()
                    } else {
                        ok = false
                    }
                case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                    i += 1
                    _ = quantifier()
                    flush()
                case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"), UInt8(ascii: "]"), UInt8(ascii: "}"):
                    // A quantifier with nothing before it, or a bracket PCRE2 may read as a
                    // literal: not modelled.
                    ok = false
                default:
                    i += 1
                    if c >= 0x80 {
                        while let next = at(i), next & 0xC0 == 0x80 { i += 1 }
                        _ = quantifier()
                        flush()
                    } else {
                        take(c)
                    }
                }
            }
            flush()
            return best
        }

        /// What one literal byte (already consumed) with its quantifier does to the current run.
        enum Step { case extend, extendAndEnd, end }

        private mutating func literal(_ c: UInt8) -> Step {
            let least = quantifier()
            let usable = c > 0x20 && c < 0x7f
                && !(caseless && [UInt8(ascii: "k"), UInt8(ascii: "s")].contains(RequiredLiterals.lower(c)))
            if !usable || least == 0 { return .end }
            return least == nil ? .extend : .extendAndEnd
        }

        private func isAlphanumeric(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
        }

        /// A quantifier at `i` (consumed, with a lazy or possessive mark): its minimum count;
        /// nil when there is none.
        mutating func quantifier() -> Int? {
            guard let c = at(i) else { return nil }
            var least: Int
            switch c {
            case UInt8(ascii: "?"), UInt8(ascii: "*"): least = 0; i += 1
            case UInt8(ascii: "+"): least = 1; i += 1
            case UInt8(ascii: "{"):
                var k = i + 1
                var digits = 0
                least = 0
                while let d = at(k), d >= 48, d <= 57 { least = min(least * 10 + Int(d - 48), 1 << 20); digits += 1; k += 1 }
                if at(k) == UInt8(ascii: ",") {
                    k += 1
                    while let d = at(k), d >= 48, d <= 57 { k += 1 }
                }
                guard digits > 0, at(k) == UInt8(ascii: "}") else { ok = false; return nil }
                i = k + 1
            default: return nil
            }
            if let mark = at(i), mark == UInt8(ascii: "?") || mark == UInt8(ascii: "+") { i += 1 }
            return least
        }

        /// `[…]`, with `]` first taken literally, escapes and POSIX classes.
        mutating func skipClass() {
            i += 1
            if at(i) == UInt8(ascii: "^") { i += 1 }
            if at(i) == UInt8(ascii: "]") { i += 1 }
            while let c = at(i) {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "["), at(i + 1) == UInt8(ascii: ":") {
                    var k = i + 2
                    while let d = at(k), !(d == UInt8(ascii: ":") && at(k + 1) == UInt8(ascii: "]")) { k += 1 }
                    guard k < bytes.count else { ok = false; return }
                    i = k + 2
                    continue
                }
                i += 1
                if c == UInt8(ascii: "]") { return }
            }
            ok = false
        }

        /// A group at `i`, through its `)`: its requirement, and whether it counts toward the
        /// branch's (lookarounds, comments and flag settings do not).
        mutating func group() -> ([[UInt8]]?, Bool) {
            i += 1
            var counts = true
            if at(i) == UInt8(ascii: "*") { ok = false; return (nil, false) }
            if at(i) == UInt8(ascii: "?") {
                i += 1
                guard let c = at(i) else { ok = false; return (nil, false) }
                switch c {
                case UInt8(ascii: ":"), UInt8(ascii: "|"), UInt8(ascii: ">"): i += 1
                case UInt8(ascii: "="), UInt8(ascii: "!"): i += 1; counts = false
                case UInt8(ascii: "<") where at(i + 1) == UInt8(ascii: "=") || at(i + 1) == UInt8(ascii: "!"):
                    i += 2; counts = false
                case UInt8(ascii: "<"), UInt8(ascii: "'"), UInt8(ascii: "P"):
                    // A named group: `(?<name>…)`, `(?'name'…)`, `(?P<name>…)` (other `(?P`
                    // forms are references: not modelled).
                    if c == UInt8(ascii: "P") {
                        guard at(i + 1) == UInt8(ascii: "<") else { ok = false; return (nil, false) }
                        i += 1
                    }
                    let close = c == UInt8(ascii: "'") ? UInt8(ascii: "'") : UInt8(ascii: ">")
                    i += 1
                    while let d = at(i), d != close { i += 1 }
                    guard at(i) == close else { ok = false; return (nil, false) }
                    i += 1
                case UInt8(ascii: "#"):
                    while let d = at(i), d != UInt8(ascii: ")") { i += 1 }
                    guard at(i) != nil else { ok = false; return (nil, false) }
                    i += 1
                    return (nil, false)
                default:
                    // Flags: `(?i)` sets them for the rest (nothing to match), `(?i:…)` is a group.
                    var k = i
                    while let d = at(k), RequiredLiterals.isFlag(d) { k += 1 }
                    guard k > i || at(k) == UInt8(ascii: ")") || at(k) == UInt8(ascii: ":") else { ok = false; return (nil, false) }
                    if at(k) == UInt8(ascii: ")") { i = k + 1; return (nil, false) }
                    guard at(k) == UInt8(ascii: ":") else { ok = false; return (nil, false) }
                    i = k + 1
                }
            }
            let inner = alternation()
            guard ok, at(i) == UInt8(ascii: ")") else { ok = false; return (nil, false) }
            i += 1
            return (inner, counts)
        }
    }
}
