import RBCore

/// JUnit XML (`--format junit`, `r.junit.xml`) for CI test-report views (GitLab, Jenkins, Azure,
/// GitHub test-report actions): one `testsuite` per target, one `testcase` per rule that applies
/// to it. A rule with findings that count for the gate is a `failure` (every such finding listed);
/// a check that could not complete is an `error`; a rule not applicable to the target is
/// `skipped`; results below the gate, to review, waived or absent are listed in `system-out` of a
/// passing test case, so the report fails exactly when the gate does. Errors no rule owns (an
/// unreadable target, an input that did not load) are one erroring test case of a `rbscan` suite.
public struct JUnitReporter: Reporter {
    public static let name = "junit"
    public static let fileExtensions = ["junit.xml"]

    public init() {}

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        var suites: [String] = []
        var totals = (tests: 0, failures: 0, errors: 0, skipped: 0)
        for (t, target) in report.targets.enumerated() {
            var cases: [String] = []
            var counts = (tests: 0, failures: 0, errors: 0, skipped: 0)
            let findings = report.findings.filter { $0.targetIndex == t }
            for rule in report.rules where rule.applies(to: target.kind) {
                let results = findings.filter { $0.ruleID == rule.id }
                let gating = results.filter(report.gates)
                let errors = report.diagnostics.filter {
                    $0.level == .error && $0.ruleID == rule.id && ($0.location?.file.hasPrefix(target.spec) ?? true)
                }
                var body = ""
                counts.tests += 1
                if !gating.isEmpty {
                    counts.failures += 1
                    let worst = gating.map(\.severity).max() ?? rule.severity
                    body += "      <failure message=\"\(XML.escape("\(gating.count) finding(s) at or above \(report.gate)"))\" type=\"\(worst.rawValue)\">"
                        + XML.escape(gating.map(Self.line).joined(separator: "\n")
                                     + "\nfix: " + TextReporter.firstLine(rule.remediation)) + "</failure>\n"
                } else if !errors.isEmpty {
                    counts.errors += 1
                    body += "      <error message=\"\(XML.escape(errors[0].message))\" type=\"\(XML.escape(errors[0].code))\">"
                        + XML.escape(errors.map(\.description).joined(separator: "\n")) + "</error>\n"
                } else if !results.isEmpty, results.allSatisfy({ $0.status == .notApplicable }) {
                    counts.skipped += 1
                    body += "      <skipped message=\"\(XML.escape("not applicable: " + results[0].message))\"/>\n"
                }
                let others = results.filter { !report.gates($0) && $0.status != .notApplicable }
                if !others.isEmpty {
                    body += "      <system-out>" + XML.escape(others.map(Self.line).joined(separator: "\n")) + "</system-out>\n"
                }
                let name = XML.escape("\(rule.id) \(rule.title)")
                let open = "    <testcase classname=\"rbscan.\(rule.category.rawValue)\" name=\"\(name)\" time=\"0\""
                cases.append(body.isEmpty ? open + "/>\n" : open + ">\n" + body + "    </testcase>\n")
            }
            totals.tests += counts.tests; totals.failures += counts.failures; totals.errors += counts.errors; totals.skipped += counts.skipped
            suites.append("  <testsuite name=\"\(XML.escape(target.label))\" tests=\"\(counts.tests)\" failures=\"\(counts.failures)\" errors=\"\(counts.errors)\" skipped=\"\(counts.skipped)\" time=\"0\">\n"
                + "    <properties>\n"
                + "      <property name=\"kind\" value=\"\(target.kind.rawValue)\"/>\n"
                + "      <property name=\"baseline\" value=\"\(XML.escape(report.baselineID))\"/>\n"
                + "      <property name=\"fail-on\" value=\"\(report.gate)\(report.failOnNew ? " (new only)" : "")\"/>\n"
                + "    </properties>\n"
                + cases.joined() + "  </testsuite>\n")
        }
        // Errors no rule owns (a target that could not be read, an input that did not load, an
        // image part not examined): one erroring test case, so an empty or partial run never
        // reads as a pass.
        let runErrors = report.diagnostics.filter { $0.level == .error && $0.ruleID == nil }
        if !runErrors.isEmpty {
            totals.tests += 1
            totals.errors += 1
            suites.append("  <testsuite name=\"rbscan\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0\">\n"
                + "    <testcase classname=\"rbscan.run\" name=\"every target read and every check completed\" time=\"0\">\n"
                + "      <error message=\"\(XML.escape(runErrors[0].message))\" type=\"\(XML.escape(runErrors[0].code))\">"
                + XML.escape(runErrors.map(\.description).joined(separator: "\n")) + "</error>\n"
                + "    </testcase>\n  </testsuite>\n")
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<testsuites name=\"rbscan \(RBScanVersion.current)\" tests=\"\(totals.tests)\" failures=\"\(totals.failures)\" errors=\"\(totals.errors)\" skipped=\"\(totals.skipped)\" time=\"0\">\n"
            + suites.joined() + "</testsuites>\n"
    }

    /// One finding as a line: severity, status tags, place, message.
    static func line(_ finding: Finding) -> String {
        var tags: [String] = []
        if finding.status != .fail { tags.append(finding.status.rawValue) }
        if let waiver = finding.waiver { tags.append("waived until \(waiver.expires): \(waiver.justification)") }
        if let state = finding.baselineState, state != .unchanged { tags.append(state.rawValue) }
        let place = (finding.location.path.isEmpty ? "." : finding.location.path) + (finding.location.line.map { ":\($0)" } ?? "")
        return "[\(finding.severity.rawValue)\(tags.isEmpty ? "" : "; " + tags.joined(separator: "; "))] \(place): \(finding.message)"
    }
}

/// XML text and attribute escaping; characters XML 1.0 cannot carry are replaced.
enum XML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                if v < 0x20 || (0xD800...0xDFFF).contains(v) || v == 0xFFFE || v == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
