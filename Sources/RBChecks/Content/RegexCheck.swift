import Foundation
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
        var pattern: String
        var ignoreCase: Bool?
        /// Comment markers, e.g. `["#"]` or `["#", ";"]`; default none.
        var comments: [String]?
        var expect: Expect?
        /// The match is a secret: it is masked in every output.
        var secret: Bool?
        var binary: Bool?
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
    let regex: Regex
    let comments: [String]
    let expect: Expect
    let secret: Bool
    let binary: Bool
    let message: String

    public init(options: Options) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        patterns = options.paths
        paths = try PathPatterns.compile(options.paths, key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        do {
            regex = try Regex(options.pattern, ignoreCase: options.ignoreCase ?? false)
        } catch {
            throw CheckOptionError(key: "pattern", error.description)
        }
        comments = options.comments ?? []
        expect = options.expect ?? .absent
        secret = options.secret ?? false
        binary = options.binary ?? false
        message = options.message ?? (expect == .absent ? "{path}:{line}: {text}" : "no file matching {paths} contains the required setting")
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var anyMatch = false
        for entry in context.files(matching: paths, excluding: exclude) {
            guard let content = binary ? context.read(entry) : context.readUnlessBinary(entry) else { continue }
            let original = TextLines(content.text)
            // Comments are blanked line by line, then the whole text is matched at once: one
            // regex pass per file, with `^`/`$` anchoring at lines.
            let prepared = comments.isEmpty ? content.text
                : original.lines.map { TextLines.stripComment($0, markers: comments) }.joined(separator: "\n")
            let matches = regex.matches(in: prepared)
            if matches.isEmpty { continue }
            anyMatch = true
            if expect == .present { break }
            let lineStarts = LineIndex(prepared)
            var seenLines = Set<Int>()
            for match in matches {
                let line = lineStarts.line(atUTF16Offset: match.range.location)
                guard seenLines.insert(line).inserted, line - 1 < original.lines.count else { continue }
                observations.append(observation(entry: entry, line: line, raw: original.lines[line - 1], groups: match.groups))
            }
        }
        if expect == .present && !anyMatch {
            var location = patterns[0]
            while location.hasPrefix("/") { location.removeFirst() }
            if context.kind == .config, let file = context.files(matching: paths).first { location = file.path }
            return [Observation(message: Template.render(message, ["paths": patterns.joined(separator: ", ")]),
                                location: Location(path: location),
                                evidence: Evidence(key: "absent:" + regex.pattern, facts: ["pattern": regex.pattern]))]
        }
        return observations
    }

    private func observation(entry: FileEntry, line: Int, raw: Substring, groups: [String?]) -> Observation {
        let matched = groups[0] ?? ""
        var snippet = Snippet.make(raw)
        var shownMatch = Snippet.make(matched)
        var key = String(matched.trimmingWhitespace())
        if secret {
            shownMatch = Mask.secret(matched)
            snippet = snippet.replacingOccurrences(of: matched, with: shownMatch)
            key = "sha256:" + String(Fingerprint.sha256Hex(Array(matched.utf8)).prefix(16))
        }
        var values = ["path": entry.path, "line": String(line), "match": shownMatch, "text": snippet]
        for (i, group) in groups.enumerated() where i > 0 {
            values[String(i)] = secret ? Mask.secret(group ?? "") : (group ?? "")
        }
        values["0"] = shownMatch
        return Observation(message: Template.render(message, values),
                           location: Location(path: entry.path, line: line),
                           evidence: Evidence(key: key, snippet: snippet))
    }
}
