import RBCore

/// GitHub-flavoured Markdown (`--format markdown`, `r.md`) for a pull-request comment or a CI
/// step summary (`$GITHUB_STEP_SUMMARY`): the gate's verdict first, counts per severity, the
/// findings that gate in a table, then (folded) the rest: failing below the gate, to review,
/// waived, and — with `--compare` — what changed. Tables stop at `limit` rows with a count of the
/// rest (a PR comment holds 65,536 characters).
public struct MarkdownReporter: Reporter {
    public static let name = "markdown"
    public static let fileExtensions = ["md", "markdown"]

    let limit: Int

    public init() { limit = 100 }
    public init(limit: Int) { self.limit = limit }

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        let gating = report.gatingFindings
        let current = report.current
        var out = ""
        switch report.exitStatus {
        case .ok: out += "## ✅ rbscan: gate passed\n\n"
        case .gateFailed:
            out += "## ❌ rbscan: gate failed — \(gating.count) \(report.failOnNew ? "new " : "")finding(s) at or above \(report.gate)\n\n"
            if report.isIncomplete { out += "⚠️ Some targets or checks could not be examined as well (see the diagnostics).\n\n" }
        case .usage: out += "## ⚠️ rbscan: scan not valid (configuration errors, or no target could be scanned)\n\n"
        case .incomplete: out += "## ⚠️ rbscan: scan incomplete — some targets or checks could not be examined; no failing finding at or above \(report.gate) in what was\n\n"
        }
        let targets = report.targets.map { $0.label == $0.spec ? "`\(Self.code($0.spec))` (\($0.kind.rawValue))" : "**\(Self.code($0.label))** `\(Self.code($0.spec))` (\($0.kind.rawValue))" }
        out += "Baseline `\(report.baselineID)`, gate `\(report.gate)`\(report.failOnNew ? " (new findings only)" : ""), \(report.rules.count) rules on "
            + (targets.count <= 5 ? targets.joined(separator: ", ") : "\(targets.count) targets") + ".\n\n"
        let failed = current.filter { $0.status == .fail && $0.waiver == nil }
        out += "| Severity | Failing | Gating |\n|---|---:|---:|\n"
        for severity in Severity.allCases.reversed() {
            out += "| \(Self.badge(severity)) \(severity.rawValue) | \(failed.filter { $0.severity == severity }.count) | \(gating.filter { $0.severity == severity }.count) |\n"
        }
        let reviews = current.filter { $0.status == .review }
        let waived = current.filter { $0.waiver != nil }
        out += "\n\(reviews.count) to review, \(waived.count) waived"
        let states = BaselineState.allCases.compactMap { state -> String? in
            let n = report.findings.filter { $0.baselineState == state }.count
            return n == 0 ? nil : "\(n) \(state.rawValue)"
        }
        if !states.isEmpty { out += "; compared with the previous results: " + states.joined(separator: ", ") }
        out += ".\n\n"
        if !gating.isEmpty {
            out += "### Findings that fail the gate\n\n" + table(gating, report)
        }
        let below = failed.filter { !report.gates($0) && $0.baselineState != .absent }
        for (title, findings) in [("Failing below the gate", below), ("To review", reviews), ("Waived", waived),
                                  ("Fixed or gone since the previous results (absent)", report.findings.filter { $0.baselineState == .absent })]
            where !findings.isEmpty {
            out += "<details><summary>\(title) (\(findings.count))</summary>\n\n" + table(findings, report) + "</details>\n\n"
        }
        let errors = report.diagnostics.filter { $0.level != .note }
        if !errors.isEmpty {
            out += "<details><summary>Diagnostics (\(errors.count))</summary>\n\n"
            for diagnostic in errors.prefix(limit) { out += "- \(Self.cell(diagnostic.description))\n" }
            if errors.count > limit { out += "- … and \(errors.count - limit) more\n" }
            out += "\n</details>\n\n"
        }
        return out
    }

    func table(_ findings: [Finding], _ report: ScanReport) -> String {
        let multiTarget = report.targets.count > 1
        let fixes = Dictionary(report.rules.map { ($0.id, TextReporter.firstLine($0.remediation)) }, uniquingKeysWith: { a, _ in a })
        var out = "| Severity | Rule | " + (multiTarget ? "Target | " : "") + "Location | Finding | Fix |\n|---|---|" + (multiTarget ? "---|" : "") + "---|---|---|\n"
        // Worst first; the report's own order within a severity.
        let ordered = findings.enumerated().sorted { ($0.element.severity, $1.offset) > ($1.element.severity, $0.offset) }.map(\.element)
        for finding in ordered.prefix(limit) {
            let place = (finding.location.path.isEmpty ? "." : finding.location.path) + (finding.location.line.map { ":\($0)" } ?? "")
            var message = Self.cell(finding.message)
            if let state = finding.baselineState, state != .unchanged { message = "**\(state.rawValue)** " + message }
            if let waiver = finding.waiver { message += " — waived until \(waiver.expires)\(waiver.owner.map { " (\(Self.cell($0)))" } ?? ""): \(Self.cell(waiver.justification))" }
            out += "| \(Self.badge(finding.severity)) \(finding.severity.rawValue) | \(finding.ruleID) | "
                + (multiTarget ? "`\(Self.code(report.targets[finding.targetIndex].label))` | " : "")
                + "`\(Self.code(place))` | \(message) | \(Self.cell(finding.baselineState == .absent ? "" : fixes[finding.ruleID] ?? "")) |\n"
        }
        if findings.count > limit { out += "\n… and \(findings.count - limit) more (see the SARIF or JSON report).\n" }
        return out + "\n"
    }

    static func badge(_ severity: Severity) -> String {
        switch severity {
        case .critical: "🟥"
        case .high: "🟧"
        case .medium: "🟨"
        case .low: "🟦"
        case .info: "⬜"
        }
    }

    /// Text for a table cell: pipes escaped, line breaks flattened, Markdown and HTML specials
    /// neutralised (a finding's message can quote anything from the image).
    static func cell(_ text: String) -> String {
        var out = ""
        for character in VisibleText.escape(text) {
            switch character {
            case "|": out += "\\|"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "`", "*", "_", "[", "]", "#", "\\": out += "\\" + String(character)
            default: out.append(character)
            }
        }
        return out
    }

    /// Text inside a code span: backticks and pipes cannot be escaped there, so they are replaced.
    static func code(_ text: String) -> String {
        String(VisibleText.escape(text).map { $0 == "`" ? "'" : $0 == "|" ? "¦" : $0 })
    }
}
