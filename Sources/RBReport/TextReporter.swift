import RBCore

/// The human summary: counts by severity and category, then the findings, then diagnostics and
/// the gate's verdict (last, where a terminal leaves it in view). Colour only when asked (the CLI asks on a terminal without NO_COLOR).
/// Control characters from the image are shown escaped (`VisibleText`), never sent to the terminal.
public struct TextReporter: Reporter {
    public static let name = "text"
    public static let fileExtensions = ["txt"]

    /// Whether the findings are listed (with their remediation); without them the text is the
    /// summary the CLI prints when every report went to a file.
    public var listsFindings: Bool

    public init() { listsFindings = true }

    public init(listsFindings: Bool) { self.listsFindings = listsFindings }

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func severityLabel(_ finding: Finding) -> String {
            let label: String
            switch finding.status {
            case .fail: label = finding.severity.rawValue.uppercased()
            case .review: label = "REVIEW"
            case .notApplicable: label = "N/A"
            }
            let padded = label.padding(8)
            guard finding.status == .fail else { return paint(padded, "2") }
            switch finding.severity {
            case .critical: return paint(padded, "1;35")
            case .high: return paint(padded, "1;31")
            case .medium: return paint(padded, "33")
            case .low: return paint(padded, "36")
            case .info: return paint(padded, "2")
            }
        }
        var out = "rbscan \(RBScanVersion.current) · baseline \(report.baselineID) · gate: \(report.gate)\n"
        for (i, target) in report.targets.enumerated() {
            let count = report.findings.filter { $0.targetIndex == i }.count
            let chain = target.label == target.spec ? "" : " [\(VisibleText.escape(target.spec))]"
            out += "target \(VisibleText.escape(target.label))\(chain) (\(target.kind.rawValue)): \(count) result(s)\n"
        }
        out += "\n"
        let failed = report.current.filter { $0.status == .fail && $0.waiver == nil }
        let bySeverity = Severity.allCases.reversed().map { severity in
            "\(severity.rawValue) \(failed.filter { $0.severity == severity }.count)"
        }
        out += "Summary: \(failed.count) failed (\(bySeverity.joined(separator: ", ")))"
        let reviews = report.current.filter { $0.status == .review }.count
        let notApplicable = report.current.filter { $0.status == .notApplicable }.count
        let waived = report.current.filter { $0.waiver != nil }.count
        out += ", \(reviews) to review, \(notApplicable) not applicable\(waived > 0 ? ", \(waived) waived" : ""); \(report.rules.count) rules run\n"
        let states = BaselineState.allCases.compactMap { state -> String? in
            let n = report.findings.filter { $0.baselineState == state }.count
            return n == 0 ? nil : "\(state.rawValue) \(n)"
        }
        if !states.isEmpty { out += "Compared with the previous results: \(states.joined(separator: ", "))\n" }
        let categories = Category.allCases.compactMap { category -> String? in
            let n = failed.filter { $0.category == category }.count
            return n == 0 ? nil : "\(category.rawValue) \(n)"
        }
        if !categories.isEmpty { out += "By category: \(categories.joined(separator: ", "))\n" }
        out += "\n"
        let multiTarget = report.targets.count > 1
        let remediation = Dictionary(report.rules.map { ($0.id, Self.firstLine($0.remediation)) }, uniquingKeysWith: { a, _ in a })
        for finding in report.findings where listsFindings {
            var place = finding.location.path.isEmpty ? "." : finding.location.path
            if let line = finding.location.line { place += ":\(line)" }
            if multiTarget { place = report.targets[finding.targetIndex].label + " " + place }
            var tags: [String] = []
            if let state = finding.baselineState, state != .unchanged { tags.append(state.rawValue) }
            if finding.waiver != nil { tags.append("waived") }
            out += "\(severityLabel(finding)) \(finding.ruleID.padding(12)) \(VisibleText.escape(place))\(tags.isEmpty ? "" : " [" + tags.joined(separator: ", ") + "]")\n"
            out += "         \(VisibleText.escape(finding.message))\n"
            if let related = finding.relatedLocations {
                let places = related.prefix(8).map { $0.path + ($0.line.map { ":\($0)" } ?? "") }
                out += "         also at: \(VisibleText.escape(places.joined(separator: ", ")))" + (related.count > 8 ? " (+\(related.count - 8) more)" : "") + "\n"
            }
            if finding.status != .notApplicable, finding.baselineState != .absent, let fix = remediation[finding.ruleID], !fix.isEmpty {
                out += paint("         fix: \(VisibleText.escape(fix))", "2") + "\n"
            }
            if let waiver = finding.waiver {
                out += "         waived until \(waiver.expires)\(waiver.owner.map { " (\(VisibleText.escape($0)))" } ?? ""): \(VisibleText.escape(waiver.justification))\n"
            }
        }
        if !report.findings.isEmpty { out += listsFindings ? "\n" : "(the findings are in the reports written)\n" }
        if !report.diagnostics.isEmpty {
            out += "\nDiagnostics (\(report.diagnostics.count)):\n"
            for diagnostic in report.diagnostics { out += "  \(VisibleText.escape(diagnostic.description))\n" }
        }
        let gating = report.gatingFindings.count
        let status = report.exitStatus
        switch status {
        case .ok: out += paint("Gate passed", "32") + ": no failing finding at or above \(report.gate) (exit 0)\n"
        case .gateFailed:
            out += paint("Gate FAILED", "1;31") + ": \(gating) \(report.failOnNew ? "new " : "")failing finding(s) at or above \(report.gate) (exit 1)\n"
            if report.isIncomplete {
                out += paint("Scan INCOMPLETE", "1;33") + " as well: some targets or checks could not be examined, see diagnostics (the failed gate decides the exit)\n"
            }
        case .usage: out += paint("Scan not valid", "1;31") + ": configuration errors, or no target could be scanned, see above (exit 2)\n"
        case .incomplete: out += paint("Scan INCOMPLETE", "1;33") + ": some targets or checks could not be examined, see diagnostics; no failing finding at or above \(report.gate) in what was (exit 3)\n"
        }
        return out
    }
}

extension TextReporter {
    /// A rule's remediation as one line: its first paragraph, whitespace folded.
    static func firstLine(_ text: String) -> String {
        let paragraph = text.trimmingWhitespace().split(separator: "\n\n", maxSplits: 1).first.map(String.init) ?? ""
        return paragraph.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
