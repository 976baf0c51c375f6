import RBCore

/// `file.regex`: a regular expression over the text of selected files, with line numbers.
///
/// `expect: absent` (default) makes every matching line a finding (a `telnetd` start line, ASLR
/// switched off). `expect: present` makes it a finding when no selected file has a match at all
/// (no NTP client started anywhere). Comment markers are blanked before matching, so a
/// commented-out line never matches. Binary files are skipped unless `binary: true`.
public struct RegexCheck: Check {
    public enum Expect: String, NamedValue, Sendable { case absent, present }

    public struct Options: Decodable, Sendable {
        var paths: [String]
        var exclude: [String]?
        /// The regular expression (PCRE2 syntax).
        var pattern: String?
        /// Several expressions, any of which matches: each is searched on its own, which keeps
        /// PCRE2's literal start-of-match optimisations (one alternation of unrelated branches
        /// would scan every byte).
        var patterns: [String]?
        var ignoreCase: Bool?
        /// Comment markers, e.g. `["#"]` or `["#", ";"]`; default none.
        var comments: [String]?
        var expect: Expect?
        /// The match is a secret: it is masked in every output.
        var secret: Bool?
        var binary: Bool?
        /// A literal every match contains (it must appear in each pattern's source). Files
        /// without it are skipped, and the patterns run only within `window` bytes either side
        /// of each occurrence: how a binary is searched for `password=%s` without running a
        /// case-insensitive pattern over every byte. Matches longer than the window are missed.
        var literal: String?
        /// Bytes around each literal occurrence searched (default 256).
        var window: Int?
        /// `fail` (default) or `review`: a match is a warning for a person, never a gate failure
        /// (the catalog's PASS-with-WARN).
        var status: FindingStatus?
        /// Finding message; `{path}`, `{line}`, `{match}`, `{text}` (the whole line, masked when
        /// secret), `{0}`…`{9}` (groups) are filled in.
        var message: String?
    }

    public static let id = "file.regex"
    public static let summary = "Matches a regular expression over file content; findings carry the line."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let patterns: [String]
    let paths: [Glob]
    let exclude: [Glob]
    let regexes: [Regex]
    /// Per expression, texts one of which its every match holds (nil: always run it).
    let requirements: [RequiredLiterals?]
    let ignoreCase: Bool
    let comments: [String]
    let expect: Expect
    let secret: Bool
    let binary: Bool
    let literal: [UInt8]?
    let window: Int
    let status: FindingStatus
    let message: String
    /// The read-ahead analysis this check's matches are kept under: named by everything that
    /// decides them (made once; it is looked up for every file the check selects).
    let analysisID: String

    public init(options: Options) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        patterns = options.paths
        paths = try PathPatterns.compile(options.paths, key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        let sources = (options.pattern.map { [$0] } ?? []) + (options.patterns ?? [])
        guard !sources.isEmpty else { throw CheckOptionError(key: "pattern", "give pattern or patterns") }
        var compiled: [Regex] = []
        for source in sources {
            do {
                compiled.append(try Regex(source, ignoreCase: options.ignoreCase ?? false))
            } catch {
                throw CheckOptionError(key: options.pattern != nil && compiled.isEmpty ? "pattern" : "patterns", error.description)
            }
        }
        regexes = compiled
        requirements = sources.map { RequiredLiterals(pattern: $0, ignoreCase: options.ignoreCase ?? false) }
        ignoreCase = options.ignoreCase ?? false
        comments = options.comments ?? []
        expect = options.expect ?? .absent
        secret = options.secret ?? false
        binary = options.binary ?? false
        if let literal = options.literal {
            guard !literal.isEmpty, sources.allSatisfy({ $0.contains(literal) }) else {
                throw CheckOptionError(key: "literal", "'\(literal)' must be non-empty and appear in every pattern")
            }
            self.literal = Array(literal.utf8)
        } else {
            self.literal = nil
        }
        window = max(16, options.window ?? 256)
        status = options.status ?? .fail
        guard status != .notApplicable else { throw CheckOptionError(key: "status", "fail or review") }
        message = options.message ?? (expect == .absent ? "{path}:{line}: {text}" : "no file matching {paths} contains the required setting")
        let parts = regexes.map(\.pattern) + comments
            + [literal.map { String(decoding: $0, as: UTF8.self) } ?? "", String(window), expect.rawValue, ignoreCase ? "i" : "",
               binary ? "binary" : "text"]
        analysisID = "file.regex:" + parts.joined(separator: "\u{1}")
    }

    /// Patterns that select every file (`**`) make this a whole-image pass.
    public var costHint: Int { paths.contains(where: \.selectsEverything) ? Engine.wholeTreeCost : 1 }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var anyMatch = false
        let selected = context.files(matching: paths, excluding: exclude)
        // A filesystem holding none of the files (a kernel's built-in initramfs beside the root
        // filesystem) cannot say that something is missing from them.
        if expect == .present, selected.isEmpty, context.kind == .firmware {
            return [Observation(status: .notApplicable,
                                message: "none of the files this rule reads (\(patterns.joined(separator: ", "))) is in this filesystem",
                                location: Location(path: "."), evidence: Evidence(key: "no-files"))]
        }
        // The pass's answers through one view (not a lock and a table per file).
        let analysis = context.analysis(analysisID)
        for entry in selected {
            let found: [FileMatch]
            if let analysed = analysis(entry) as? [FileMatch] {
                found = analysed
            } else {
                guard let bytes = (binary ? context.read(entry) : context.readUnlessBinary(entry))?.bytes else { continue }
                found = matches(in: bytes)
            }
            if found.isEmpty { continue }
            anyMatch = true
            if expect == .present { break }
            var secretRank = 0
            for match in found {
                secretRank += 1
                observations.append(observation(entry: entry, line: match.line, raw: match.raw, groups: match.groups,
                                                secretRank: secretRank, secrets: context.limits.secrets))
            }
        }
        if expect == .present && !anyMatch {
            var location = patterns[0]
            while location.hasPrefix("/") { location.removeFirst() }
            if context.kind == .config, let file = context.files(matching: paths).first { location = file.path }
            return [Observation(message: Template.render(message, ["paths": patterns.joined(separator: ", ")]),
                                location: Location(path: location),
                                evidence: Evidence(key: "absent:" + regexes.map(\.pattern).joined(separator: "|"),
                                                   facts: ["pattern": regexes.map(\.pattern).joined(separator: " | ")]))]
        }
        return observations
    }

    /// One matching line of a file: its number, its text and the match's groups (group 0 first).
    struct FileMatch: Sendable {
        var line: Int
        var raw: String
        var groups: [String?]
    }

    /// The matching lines of a file's bytes, one per line (with `expect: present`, the first only).
    func matches(in original: [UInt8]) -> [FileMatch] {
        // Only the expressions whose texts the file holds can match (most files hold none of
        // them: then neither the copy nor the blanking below happens).
        let candidates = regexes.indices.filter { requirements[$0]?.mayMatch(original) ?? true }.map { regexes[$0] }
        if candidates.isEmpty { return [] }
        var bytes = original
        let markers = comments.map { Array($0.utf8) }
        // Comments are blanked with spaces in place, so offsets and lines stay those of the
        // file; then the whole file is matched in one pass.
        if !markers.isEmpty { CommentBlanker.blank(&bytes, markers: markers) }
        var matches: [Regex.Match] = []
        for range in searchRanges(in: bytes) {
            for regex in candidates {
                matches += regex.matches(in: bytes, within: range, limit: expect == .present ? 1 : .max)
                if expect == .present && !matches.isEmpty { break }
            }
            if expect == .present && !matches.isEmpty { break }
        }
        if matches.isEmpty { return [] }
        if expect == .present { return [FileMatch(line: 0, raw: "", groups: [])] }
        matches.sort { $0.range.lowerBound < $1.range.lowerBound }
        let lines = LineIndex(bytes)
        var seenLines = Set<Int>()
        var found: [FileMatch] = []
        for match in matches {
            // A pattern like `(^|\s)telnetd` may start its match on the newline before the
            // word: the finding belongs to the line of the first byte that is not a line end.
            var start = match.range.lowerBound
            while start < match.range.upperBound - 1, bytes[start] == 10 || bytes[start] == 13 { start += 1 }
            let line = lines.line(atOffset: start)
            guard seenLines.insert(line).inserted else { continue }
            let groups = [match.range] + match.groups
            found.append(FileMatch(line: line, raw: lines.text(ofLine: line, in: bytes),
                                   groups: groups.map { $0.map { String(decoding: bytes[$0], as: UTF8.self) } }))
        }
        return found
    }

    /// The read-ahead pass's analysis of this check's files: the patterns run while the pass
    /// holds each file (it reads, or decompresses, every file once anyway; the content cache
    /// holds only part of a large image's text). Named by everything that decides the matches.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware else { return ContentInterests() }
        let id = analysisID
        let analysis = ContentAnalysis(id: id, binaries: binary, nothing: [FileMatch](), isNothing: { $0.isEmpty }) { [self] bytes in
            matches(in: bytes)
        }
        return ContentInterests(analysis, positions: context.filePositions(matching: paths, excluding: exclude))
    }

    /// The whole file, or with a `literal` the merged windows around its occurrences.
    private func searchRanges(in bytes: [UInt8]) -> [Range<Int>] {
        guard let literal else { return [0..<bytes.count] }
        return SearchWindows.around(literal, in: bytes, margin: window)
    }

    /// `secretRank`: the match's rank in the file, the identity of a secret match when no user
    /// key is given (a plain digest of the secret would be reversible with a word list).
    private func observation(entry: FileEntry, line: Int, raw: String, groups: [String?], secretRank: Int, secrets: SecretDigest) -> Observation {
        let matched = groups[0] ?? ""
        var snippet = Snippet.make(raw)
        var shownMatch = Snippet.make(matched)
        var key = String(matched.trimmingWhitespace())
        if secret {
            shownMatch = Mask.secret(matched)
            if !matched.isEmpty { snippet = Snippet.make(raw.replacing(matched, with: shownMatch)) }
            key = secrets.identity(matched).map { "hmac:" + $0 } ?? "secret#\(secretRank)"
        }
        var values = ["path": entry.path, "line": String(line), "match": shownMatch, "text": snippet]
        for (i, group) in groups.enumerated() where i > 0 {
            values[String(i)] = secret ? Mask.secret(group ?? "") : (group ?? "")
        }
        values["0"] = shownMatch
        return Observation(status: status, message: Template.render(message, values),
                           location: Location(path: entry.path, line: line),
                           evidence: Evidence(key: key, snippet: snippet))
    }
}
