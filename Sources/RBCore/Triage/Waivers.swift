import Foundation

/// Where a finding stands against the results it is compared with (`--compare`), as SARIF's
/// `baselineState`: new, unchanged, updated (same fingerprint, other severity, status or
/// evidence: `Fingerprint.evidenceState`, never the message), or absent (in the previous results
/// only: fixed, or no longer scanned).
public enum BaselineState: String, Codable, Sendable, CaseIterable {
    case new, unchanged, updated, absent
}

/// The waiver that accepted a finding, as the reports show it.
public struct AppliedWaiver: Hashable, Codable, Sendable {
    public var justification: String
    public var owner: String?
    /// `YYYY-MM-DD`, the last day the waiver holds.
    public var expires: String
    /// Where the waiver is written (`waivers.yaml:12`).
    public var source: String

    public init(justification: String, owner: String?, expires: String, source: String) {
        self.justification = justification
        self.owner = owner
        self.expires = expires
        self.source = source
    }
}

/// A waivers file (`--waivers FILE`, YAML, `version: 1`): accepted findings, each with a
/// justification and an expiry date.
///
/// ```yaml
/// version: 1
/// waivers:
///   - rule: RB-SYS-004            # a rule ID or a pattern (RB-SEN-*)
///     path: bin/busybox           # optional: a glob on the finding's path
///     target: "fw-*.bin"          # optional: a glob on the target as given
///     fingerprint: 0f3a…          # optional: one finding exactly (instead of, or with, rule/path)
///     justification: BusyBox must stay SUID for ping on this product line (REQ-1234)
///     owner: camera-platform-team
///     expires: 2027-03-31
/// ```
///
/// A waiver holds through its `expires` day. A waived finding stays in every report (SARIF
/// `suppressions`, the JSON `waiver`) and leaves the gate. An expired waiver waives nothing and is
/// reported (a warning naming its line); an unexpired one that matches no finding is reported as
/// stale. Malformed files are configuration errors naming file:line (exit 2).
public struct WaiverSet: Sendable {
    public static let supportedVersion = 1

    public struct Entry: Decodable, Sendable {
        public var rule: String?
        public var path: String?
        public var target: String?
        public var fingerprint: String?
        public var justification: String
        public var owner: String?
        public var expires: String
        /// The entry's place in the file (set by the loader).
        public var source = SourceLocation(file: "")

        enum CodingKeys: String, CodingKey { case rule, path, target, fingerprint, justification, owner, expires }

        var rulePattern: Glob?
        var pathPattern: Glob?
        var targetPattern: Glob?

        /// Whether the waiver covers `finding` on the target given as `target`.
        func covers(_ finding: Finding, target: String) -> Bool {
            if let fingerprint, fingerprint.lowercased() != finding.fingerprint.lowercased() { return false }
            if let rulePattern, !rulePattern.matches(finding.ruleID) { return false }
            if let pathPattern, !pathPattern.matches(finding.location.path) { return false }
            if let targetPattern, !targetPattern.matches(target) { return false }
            return true
        }
    }

    struct Document: Decodable {
        var version: Int
        var waivers: [Entry]
    }

    public let file: String
    public let entries: [Entry]

    public init(file: String, entries: [Entry]) {
        self.file = file
        self.entries = entries
    }

    public static func load(file: String) throws(DiagnosticError) -> WaiverSet {
        try parse(text: NodeDecoder.readDocument(file, kind: "waivers"), file: file)
    }

    public static func parse(text: String, file: String) throws(DiagnosticError) -> WaiverSet {
        let (document, root) = try NodeDecoder.decodeVersioned(Document.self, text: text, file: file, kind: "waivers",
                                                               supported: supportedVersion) { $0.version }
        var marks: [SourceLocation] = []
        if case .mapping(let top) = root, case .sequence(let items)? = top["waivers"] {
            marks = items.map { markLocation(file, $0.mark) }
        }
        var entries: [Entry] = []
        var problems: [Diagnostic] = []
        for (i, var entry) in document.waivers.enumerated() {
            let at = i < marks.count ? marks[i] : SourceLocation(file: file)
            entry.source = at
            func problem(_ message: String) {
                problems.append(Diagnostic(.error, .configuration, code: "waivers.invalid", message, at: at))
            }
            if entry.justification.trimmingWhitespace().isEmpty { problem("a waiver needs a justification") }
            if !isDate(entry.expires) { problem("expires must be a date YYYY-MM-DD (got '\(entry.expires)')") }
            if entry.rule == nil && entry.fingerprint == nil { problem("a waiver names a rule (or pattern) or a fingerprint") }
            do {
                entry.rulePattern = try entry.rule.map { try Glob($0) }
                entry.pathPattern = try entry.path.map { try Glob($0.hasPrefix("/") ? String($0.dropFirst()) : $0) }
                entry.targetPattern = try entry.target.map { try Glob($0) }
            } catch {
                problem("bad pattern: \(error)")
            }
            entries.append(entry)
        }
        guard problems.isEmpty else { throw DiagnosticError(problems) }
        return WaiverSet(file: file, entries: entries)
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month) else { return false }
        // The month's real length (2027-02-30 and 2026-04-31 do not exist; 2028-02-29 does).
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    /// Today's date in UTC, `YYYY-MM-DD`.
    public static func today() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    /// Marks the findings the unexpired waivers cover (the first matching waiver wins) and adds
    /// a warning for every expired waiver and every unexpired one that covers nothing.
    public func apply(to report: inout ScanReport, today: String = WaiverSet.today()) {
        var used = Array(repeating: 0, count: entries.count)
        for i in report.findings.indices where report.findings[i].baselineState != .absent {
            let finding = report.findings[i]
            let target = finding.targetIndex < report.targets.count ? report.targets[finding.targetIndex].spec : ""
            for (w, entry) in entries.enumerated() where entry.covers(finding, target: target) {
                guard entry.expires >= today else { used[w] += 1; continue }
                report.findings[i].waiver = AppliedWaiver(justification: entry.justification.trimmingWhitespace().description,
                                                          owner: entry.owner, expires: entry.expires, source: entry.source.description)
                used[w] += 1
                break
            }
        }
        for (w, entry) in entries.enumerated() {
            let what = entry.rule ?? "fingerprint \(entry.fingerprint ?? "")"
            if entry.expires < today {
                report.diagnostics.append(Diagnostic(.warning, .configuration, code: "waiver.expired",
                    "the waiver for \(what)\(entry.owner.map { " (owner \($0))" } ?? "") expired on \(entry.expires): "
                        + (used[w] > 0 ? "the \(used[w]) finding(s) it covered count again" : "it covered no finding"),
                    at: entry.source))
            } else if used[w] == 0 {
                report.diagnostics.append(Diagnostic(.warning, .configuration, code: "waiver.stale",
                    "the waiver for \(what)\(entry.owner.map { " (owner \($0))" } ?? "") matches no finding: remove it, or fix its rule/path/target",
                    at: entry.source))
            }
        }
    }
}
