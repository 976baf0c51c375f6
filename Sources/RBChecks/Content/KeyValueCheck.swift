import RBCore

/// `config.keyvalue`: one key of a key-value config compared with an expectation.
///
/// Formats: `equals` (`key = value`, sysctl, lighttpd, php.ini), `space` (`Key value`,
/// sshd_config), `colon` (`key: value`), `shell` (`KEY=value`, `export KEY="v"`), `ini`
/// (`[section]` then `key = value`; the key is `section.key`), and `auto` (per line: `=` if
/// present, else the first blank). Quotes around values are removed. By default the last
/// occurrence in a file is the effective one (`occurrence: each` judges every occurrence).
public struct KeyValueCheck: Check {
    public enum Format: String, NamedValue, Sendable { case auto, equals, space, colon, shell, ini }
    public enum Missing: String, NamedValue, Sendable { case pass, fail, review }
    public enum Occurrence: String, NamedValue, Sendable { case last, each }

    public struct Options: Decodable, Sendable {
        var paths: [String]
        var exclude: [String]?
        var format: Format?
        /// The key; in `ini` format `section.key` (a key before any section is just `key`).
        var key: String
        var ignoreKeyCase: Bool?
        var expect: Expectation
        /// What a selected file without the key means; default `pass`.
        var missing: Missing?
        var occurrence: Occurrence?
        /// Comment markers; default `#` and `;`.
        var comments: [String]?
        /// Finding message; `{path}`, `{line}`, `{key}`, `{value}`, `{expected}` are filled in.
        var message: String?
    }

    public static let id = "config.keyvalue"
    public static let summary = "Compares one key of a key=value / INI / shell / sshd-style config with an expected value."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let options: Options
    let paths: [Glob]
    let exclude: [Glob]
    let message: String

    public init(options: Options) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        guard !options.key.isEmpty else { throw CheckOptionError(key: "key", "must not be empty") }
        self.options = options
        paths = try PathPatterns.compile(options.paths, key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        message = options.message ?? "{key} = {value}; expected {expected}"
    }

    /// One `key = value` occurrence.
    struct Pair: Equatable {
        var key: String
        var value: String
        var line: Int
        var raw: Substring
        /// The key was separated from the value by blanks (`PermitRootLogin yes`), not `=`/`:`.
        var spaced = false
    }

    /// Parses `text` into key-value pairs in file order.
    static func parse(_ text: String, format: Format, comments: [String]) -> [Pair] {
        var pairs: [Pair] = []
        var section: String?
        for (number, raw) in TextLines(text).lines.enumerated() {
            let line = TextLines.stripComment(raw, markers: comments).trimmingWhitespace()
            if line.isEmpty { continue }
            if format == .ini || format == .auto, line.utf8.first == 91, line.utf8.last == 93, line.utf8.count >= 2 {
                section = String(line[line.utf8.index(after: line.utf8.startIndex)..<line.utf8.index(before: line.utf8.endIndex)].trimmingWhitespace())
                continue
            }
            var body = line
            if format == .shell || format == .auto, body.hasPrefix("export ") {
                body = body.dropFirst("export ".count).trimmingWhitespace()
            }
            // Separators and quotes are ASCII: found in the UTF-8 bytes, whose indices slice the text.
            let bytes = body.utf8
            let blank: (UInt8) -> Bool = { $0 == 32 || $0 == 9 }
            let separatorIndex: Substring.Index?
            switch format {
            case .equals, .ini, .shell: separatorIndex = bytes.firstIndex(of: 61)
            case .colon: separatorIndex = bytes.firstIndex(of: 58)
            case .space: separatorIndex = bytes.firstIndex(where: blank)
            case .auto: separatorIndex = bytes.firstIndex(of: 61) ?? bytes.firstIndex(where: blank)
            }
            guard let separator = separatorIndex else { continue }
            var key = String(body[..<separator].trimmingWhitespace())
            var value = body[bytes.index(after: separator)...].trimmingWhitespace()
            if format == .auto || format == .equals, key.hasSuffix("+") { key.removeLast(); key = String(key.trimmingWhitespace()) }
            let valueBytes = value.utf8
            if valueBytes.count >= 2, let first = valueBytes.first, first == 34 || first == 39, valueBytes.last == first {
                value = value[valueBytes.index(after: valueBytes.startIndex)..<valueBytes.index(before: valueBytes.endIndex)]
            }
            if key.isEmpty { continue }
            if format == .ini || format == .auto, let section { key = section + "." + key }
            pairs.append(Pair(key: key, value: String(value), line: number + 1, raw: raw, spaced: blank(bytes[separator])))
        }
        return pairs
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        let ignoreCase = options.ignoreKeyCase ?? false
        let wanted = ignoreCase ? options.key.lowercased() : options.key
        for entry in context.files(matching: paths, excluding: exclude) {
            guard let text = context.readText(entry) else { continue }
            let pairs = KeyValueCheck.parse(text, format: options.format ?? .auto, comments: options.comments ?? ["#", ";"])
                .filter { (ignoreCase ? $0.key.lowercased() : $0.key) == wanted }
            guard let last = pairs.last else {
                switch options.missing ?? .pass {
                case .pass: break
                case .fail, .review:
                    observations.append(Observation(
                        status: options.missing == .fail ? .fail : .review,
                        message: "\(options.key) is not set in \(entry.path); expected \(options.expect)",
                        location: Location(path: entry.path),
                        evidence: Evidence(key: options.key + ":missing", facts: ["key": options.key])))
                }
                continue
            }
            context.understood(entry.path)
            let judged = (options.occurrence ?? .last) == .last ? [last] : pairs
            for pair in judged where !options.expect.isSatisfied(by: pair.value) {
                let values = ["path": entry.path, "line": String(pair.line), "key": pair.key, "value": pair.value,
                              "expected": options.expect.description]
                observations.append(Observation(
                    message: Template.render(message, values), location: Location(path: entry.path, line: pair.line),
                    evidence: Evidence(key: pair.key + "=" + pair.value, snippet: Snippet.make(pair.raw),
                                       facts: ["key": pair.key, "value": pair.value])))
            }
        }
        return observations
    }
}
