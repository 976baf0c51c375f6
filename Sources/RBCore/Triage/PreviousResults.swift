import Foundation

/// The results of an earlier run (`--compare PREVIOUS.sarif|json`), read from rbscan's SARIF
/// (`partialFingerprints["rbscanFingerprint/v1"]`) or JSON (`findings[].fingerprint`) report,
/// and compared with this run by fingerprint.
public struct PreviousResults: Sendable {
    /// One earlier result.
    public struct Entry: Sendable {
        public var fingerprint: String
        public var ruleID: String
        public var status: FindingStatus
        public var severity: Severity
        public var category: String
        public var message: String
        public var path: String
        public var line: Int?
        public var target: String
        public var waived: Bool
    }

    public let file: String
    public let entries: [Entry]

    public init(file: String, entries: [Entry]) {
        self.file = file
        self.entries = entries
    }

    /// The key of rbscan's fingerprint in SARIF `partialFingerprints` (versioned with its recipe).
    public static let sarifFingerprintKey = "rbscanFingerprint/v1"

    public static func load(file: String) throws(DiagnosticError) -> PreviousResults {
        let bytes: [UInt8]
        do { bytes = try HostFiles.readBytes(file, limit: 1 << 30) } catch {
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "compare.unreadable", "\(error)", at: SourceLocation(file: file)))
        }
        return try parse(bytes, file: file)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DiagnosticError) -> PreviousResults {
        func fail(_ message: String) -> DiagnosticError {
            DiagnosticError(Diagnostic(.error, .configuration, code: "compare.malformed", message, at: SourceLocation(file: file)))
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw fail("not an rbscan SARIF or JSON report: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")")
        }
        guard let document = object as? [String: Any] else { throw fail("not an rbscan SARIF or JSON report: the top level is no object") }
        return try parse(document: document, file: file)
    }

    /// The results of an already parsed report document.
    public static func parse(document: [String: Any], file: String) throws(DiagnosticError) -> PreviousResults {
        func fail(_ message: String) -> DiagnosticError {
            DiagnosticError(Diagnostic(.error, .configuration, code: "compare.malformed", message, at: SourceLocation(file: file)))
        }
        var entries: [Entry] = []
        if let runs = document["runs"] as? [[String: Any]] {
            for run in runs {
                let rules = ((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
                for result in run["results"] as? [[String: Any]] ?? [] {
                    guard let fingerprint = (result["partialFingerprints"] as? [String: Any])?[sarifFingerprintKey] as? String else {
                        throw fail("a SARIF result without partialFingerprints[\"\(sarifFingerprintKey)\"]: not written by rbscan")
                    }
                    if result["baselineState"] as? String == "absent" { continue }
                    let properties = result["properties"] as? [String: Any] ?? [:]
                    let ruleID = result["ruleId"] as? String ?? (result["ruleIndex"] as? Int).flatMap { $0 < rules.count ? rules[$0]["id"] as? String : nil } ?? ""
                    let physical = ((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any]) ?? [:]
                    let uri = (physical["artifactLocation"] as? [String: Any])?["uri"] as? String ?? ""
                    let kind = result["kind"] as? String ?? "fail"
                    let suppressed = !(result["suppressions"] as? [[String: Any]] ?? []).isEmpty
                    entries.append(Entry(
                        fingerprint: fingerprint, ruleID: ruleID,
                        status: kind == "review" ? .review : kind == "notApplicable" ? .notApplicable : .fail,
                        severity: Severity(rawValue: properties["severity"] as? String ?? "") ?? .medium,
                        category: properties["category"] as? String ?? "",
                        message: (result["message"] as? [String: Any])?["text"] as? String ?? "",
                        path: uri.contains("://") ? uri : (uri.removingPercentEncoding ?? uri),
                        line: (physical["region"] as? [String: Any])?["startLine"] as? Int,
                        target: properties["target"] as? String ?? "", waived: suppressed))
                }
            }
        } else if document["schemaVersion"] != nil, let findings = document["findings"] as? [[String: Any]] {
            let targets = (document["targets"] as? [[String: Any]] ?? []).map { $0["spec"] as? String ?? "" }
            for finding in findings {
                guard let fingerprint = finding["fingerprint"] as? String else { throw fail("a finding without a fingerprint") }
                if finding["baselineState"] as? String == "absent" { continue }
                let target = finding["target"] as? Int ?? 0
                entries.append(Entry(
                    fingerprint: fingerprint, ruleID: finding["ruleId"] as? String ?? "",
                    status: FindingStatus(rawValue: finding["status"] as? String ?? "") ?? .fail,
                    severity: Severity(rawValue: finding["severity"] as? String ?? "") ?? .medium,
                    category: finding["category"] as? String ?? "", message: finding["message"] as? String ?? "",
                    path: finding["path"] as? String ?? "", line: finding["line"] as? Int,
                    target: target < targets.count ? targets[target] : "", waived: finding["waiver"] != nil))
            }
        } else {
            throw fail("not an rbscan SARIF (runs) or JSON (schemaVersion, findings) report")
        }
        return PreviousResults(file: file, entries: entries)
    }

    /// Sets every finding's `baselineState` and adds the previous results missing from this run
    /// as `absent` findings (never gating).
    ///
    /// A finding is matched on its target and fingerprint when the previous results have a
    /// target of the same name (a fleet, or the same image path), else on its fingerprint alone
    /// (one image compared with the build before it, under another file name); each earlier
    /// result matches at most one finding.
    public func apply(to report: inout ScanReport) {
        let previousTargets = Set(entries.map(\.target))
        var byTarget: [String: [Int]] = [:], byFingerprint: [String: [Int]] = [:]
        for (i, entry) in entries.enumerated() {
            byTarget[entry.target + "\u{0}" + entry.fingerprint, default: []].append(i)
            byFingerprint[entry.fingerprint, default: []].append(i)
        }
        var matched = Set<Int>()
        for i in report.findings.indices where report.findings[i].baselineState != .absent {
            let finding = report.findings[i]
            let spec = finding.targetIndex < report.targets.count ? report.targets[finding.targetIndex].spec : ""
            let candidates = previousTargets.contains(spec) ? byTarget[spec + "\u{0}" + finding.fingerprint] : byFingerprint[finding.fingerprint]
            guard let index = candidates?.first(where: { !matched.contains($0) }) else {
                report.findings[i].baselineState = .new
                continue
            }
            matched.insert(index)
            let before = entries[index]
            let same = before.status == finding.status && before.severity == finding.severity && before.message == finding.message
            report.findings[i].baselineState = same ? .unchanged : .updated
        }
        let targetIndex = Dictionary(report.targets.enumerated().map { ($1.spec, $0) }, uniquingKeysWith: { a, _ in a })
        for (index, entry) in entries.enumerated() where !matched.contains(index) {
            let category = Category(rawValue: entry.category)
                ?? Category(rawValue: String(entry.ruleID.split(separator: "-").dropFirst().first ?? "")) ?? .SYS
            var finding = Finding(ruleID: entry.ruleID, status: entry.status, severity: entry.severity, category: category,
                                  message: entry.message, targetIndex: targetIndex[entry.target] ?? 0,
                                  location: Location(path: entry.path, line: entry.line), evidence: Evidence(key: ""))
            finding.fingerprint = entry.fingerprint
            finding.baselineState = .absent
            report.findings.append(finding)
        }
        report.findings.sort(by: Finding.deterministicOrder)
    }
}
