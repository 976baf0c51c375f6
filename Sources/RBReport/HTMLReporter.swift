import Foundation
import RBCore

/// A self-contained HTML triage report (`--format html`, `r.html`): no request leaves the page
/// at view time (styles, script and charts are inline; charts are SVG drawn here). It holds the
/// verdict, the targets with their container chains, charts of failing results by severity and
/// category, a grouped view (each problem — rule, image-relative location and evidence, i.e. one
/// fingerprint — once, with the targets it affects, their names and tags, and the first and last
/// inventory target it shows in), a findings table in severity order that filters (text,
/// severity, category, status, target), sorts (any column) and exports what it shows as CSV,
/// each finding's evidence, remediation and references in a row that unfolds, and a compliance
/// view that maps the rules' references to ETSI EN 303 645 provisions (with their clause
/// headings), GB/T 38626 sections and the OWASP IoT Top 10 (fail / review / pass / not assessed
/// per provision).
///
/// Filters and sort can be set in the address (`report.html#severity=high&q=telnet&sort=rule`),
/// which is also how the tests drive the page in headless Chromium.
public struct HTMLReporter: Reporter {
    public static let name = "html"
    public static let fileExtensions = ["html", "htm"]

    public init() {}

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        let sink = StringSink()
        try write(report, color: color, to: sink)
        return sink.text
    }

    /// Written a piece at a time (every 1 MiB of rows): a report of 100,000 findings is never
    /// held whole in memory.
    public func write(_ report: ScanReport, color: Bool, to sink: any ReportSink) throws {
        let rules = Dictionary(report.rules.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let current = report.current
        let failing = current.filter { $0.status == .fail && $0.waiver == nil }
        var out = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
        <title>rbscan report — \(Self.escape(report.baselineID))</title>
        <style>\(Self.style)</style></head>
        <body>
        <header><h1>rbscan triage report</h1>
        <p class="meta">rbscan \(RBScanVersion.current) · baseline <code>\(Self.escape(report.baselineID))</code> · gate <code>\(report.gate)</code>\(report.failOnNew ? " (new findings only)" : "")\(report.startTime.map { " · " + Self.escape($0) } ?? "")</p>
        \(Self.verdict(report))
        </header>
        <main>
        <section id="targets"><h2>Targets</h2><table class="plain"><thead><tr><th>#</th><th>Target</th><th>Kind</th><th>Container chain</th><th>Failing</th></tr></thead><tbody>

        """
        for (i, target) in report.targets.enumerated() {
            let chain = target.containers.isEmpty ? "—" : target.containers.map { "<code>\(Self.escape($0))</code>" }.joined(separator: " → ")
            let label = target.name.map { "<strong>\(Self.escape($0))</strong> " } ?? ""
            let tags = target.tags.map { "<span class=\"tag\">\(Self.escape($0))</span>" }.joined()
            out += "<tr><td>\(i)</td><td>\(label)<code>\(Self.escape(target.spec))</code> \(tags)</td><td>\(target.kind.rawValue)</td><td>\(chain)</td><td>\(failing.filter { $0.targetIndex == i }.count)</td></tr>\n"
        }
        out += "</tbody></table></section>\n"

        // Charts.
        let bySeverity = Severity.allCases.reversed().map { severity in (severity.rawValue, failing.filter { $0.severity == severity }.count, Self.color(severity)) }
        let byCategory = Category.allCases.map { category in (category.rawValue + " " + category.title, failing.filter { $0.category == category }.count, "#5b6b8c") }
        out += "<section id=\"summary\"><h2>Summary</h2><div class=\"charts\">"
        out += "<figure><figcaption>Failing results by severity</figcaption>" + Self.barChart(bySeverity, id: "chart-severity") + "</figure>"
        out += "<figure><figcaption>Failing results by category</figcaption>" + Self.barChart(byCategory, id: "chart-category") + "</figure>"
        let counts = [("failing", failing.count), ("gating", report.gatingFindings.count), ("to review", current.filter { $0.status == .review }.count),
                      ("waived", current.filter { $0.waiver != nil }.count), ("not applicable", current.filter { $0.status == .notApplicable }.count)]
        out += "<ul class=\"counts\">" + counts.map { "<li><b>\($0.1)</b> \($0.0)</li>" }.joined() + "</ul>"
        let states = BaselineState.allCases.compactMap { state -> String? in
            let n = report.findings.filter { $0.baselineState == state }.count
            return n == 0 ? nil : "<li><b>\(n)</b> \(state.rawValue)</li>"
        }
        if !states.isEmpty { out += "<ul class=\"counts\">" + states.joined() + "</ul>" }
        out += "</div></section>\n"

        // Across several targets only: with one, each problem is one finding of the table below.
        if report.targets.count > 1 { out += Self.groups(report, rules: rules) }

        // Findings table.
        let targetsOptions = report.targets.enumerated().map { "<option value=\"\($0.offset)\">\(Self.escape($0.element.label))</option>" }.joined()
        out += """
        <section id="findings"><h2>Findings</h2>
        <form id="filters" onsubmit="return false">
        <input id="q" type="search" placeholder="Filter: rule, path, message…" aria-label="text filter">
        <select id="f-severity" aria-label="severity"><option value="">all severities</option>\(Severity.allCases.reversed().map { "<option>\($0.rawValue)</option>" }.joined())</select>
        <select id="f-category" aria-label="category"><option value="">all categories</option>\(Category.allCases.map { "<option value=\"\($0.rawValue)\">\($0.rawValue) \(Self.escape($0.title))</option>" }.joined())</select>
        <select id="f-status" aria-label="status"><option value="">all statuses</option><option value="fail">fail</option><option value="gating">gating</option><option value="review">review</option><option value="notApplicable">not applicable</option><option value="waived">waived</option><option value="absent">absent</option></select>
        <select id="f-target" aria-label="target"><option value="">all targets</option>\(targetsOptions)</select>
        <span id="shown"></span>
        <a id="csv" download="rbscan-findings.csv" href="data:text/csv;charset=utf-8,">Export CSV</a>
        </form>
        <table id="results"><thead><tr>
        <th data-key="severity" data-type="number">Severity</th><th data-key="rule">Rule</th><th data-key="category">Category</th><th data-key="target">Target</th><th data-key="location">Location</th><th data-key="status">Status</th><th data-key="message">Finding</th>
        </tr></thead>

        """
        // Severity first: failing results from critical down, then reviews, not applicable, and
        // absent ones last; the report's order (target, path) within each.
        let order = report.findings.indices.sorted { a, b in
            let x = Self.orderRank(report.findings[a]), y = Self.orderRank(report.findings[b])
            return x != y ? x > y : a < b
        }
        for n in order {
            let finding = report.findings[n]
            let rule = rules[finding.ruleID]
            let target = report.targets[finding.targetIndex]
            let place = (finding.location.path.isEmpty ? "." : finding.location.path) + (finding.location.line.map { ":\($0)" } ?? "")
            var status = finding.status.rawValue
            if finding.waiver != nil { status = "waived" } else if finding.baselineState == .absent { status = "absent" }
            let gating = report.gates(finding)
            let rank = finding.status == .fail ? Severity.allCases.firstIndex(of: finding.severity) ?? 0 : -1
            let search = [finding.ruleID, rule?.title ?? "", place, finding.message, target.spec, target.label, finding.fingerprint].joined(separator: " ").lowercased()
            out += "<tbody class=\"finding\" data-fingerprint=\"\(finding.fingerprint)\" data-severity=\"\(finding.severity.rawValue)\" data-rank=\"\(rank)\" data-category=\"\(finding.category.rawValue)\" data-status=\"\(status)\" data-gating=\"\(gating)\" data-target=\"\(finding.targetIndex)\" data-index=\"\(n)\" data-search=\"\(Self.escape(search))\">"
            let badge = finding.status == .fail ? "sev-" + finding.severity.rawValue : "sev-none"
            out += "<tr class=\"row\" tabindex=\"0\"><td><span class=\"sev \(badge)\">\(finding.status == .fail ? finding.severity.rawValue : finding.status == .review ? "review" : "n/a")</span></td>"
            out += "<td><code>\(finding.ruleID)</code></td><td>\(finding.category.rawValue)</td><td>\(Self.escape(target.label))</td>"
            out += "<td><code>\(Self.escape(place))</code></td><td>\(status)\(gating ? " <b title=\"counts for the gate\">●</b>" : "")\(finding.baselineState.map { $0 == .unchanged || $0 == .absent ? "" : " <i>\($0.rawValue)</i>" } ?? "")</td>"
            out += "<td>\(Self.escape(finding.message))</td></tr>"
            out += "<tr class=\"detail\" hidden><td colspan=\"7\"><dl>"
            if let rule { out += "<dt>Rule</dt><dd><code>\(rule.id)</code> \(Self.escape(rule.title))</dd>" }
            out += "<dt>Evidence</dt><dd><code>\(Self.escape(finding.evidence.key))</code>"
            if let snippet = finding.evidence.snippet { out += "<pre>\(Self.escape(snippet))</pre>" }
            if !finding.evidence.facts.isEmpty {
                out += "<table class=\"facts\">" + finding.evidence.facts.sorted { $0.key < $1.key }.map { "<tr><th>\(Self.escape($0.key))</th><td>\(Self.escape($0.value))</td></tr>" }.joined() + "</table>"
            }
            out += "</dd>"
            if let rule { out += "<dt>Remediation</dt><dd>\(Self.escape(rule.remediation.trimmingWhitespace().description))</dd>" }
            if let rule, !rule.references.isEmpty { out += "<dt>References</dt><dd>\(rule.references.map(Self.escape).joined(separator: "; "))</dd>" }
            if let waiver = finding.waiver {
                out += "<dt>Waiver</dt><dd>until \(Self.escape(waiver.expires))\(waiver.owner.map { " (" + Self.escape($0) + ")" } ?? ""): \(Self.escape(waiver.justification)) <small>\(Self.escape(waiver.source))</small></dd>"
            }
            if !target.containers.isEmpty { out += "<dt>Container chain</dt><dd>\(target.containers.map { "<code>\(Self.escape($0))</code>" }.joined(separator: " → "))</dd>" }
            out += "<dt>Fingerprint</dt><dd><code>\(finding.fingerprint)</code></dd></dl></td></tr></tbody>\n"
            if out.utf8.count >= 1 << 20 {
                try sink.write(out)
                out = ""
            }
        }
        out += "</table></section>\n"
        out += Self.compliance(report, rules: report.rules)
        if !report.diagnostics.isEmpty {
            out += "<section id=\"diagnostics\"><h2>Diagnostics</h2><ul>" + report.diagnostics.map { "<li>\(Self.escape($0.description))</li>" }.joined() + "</ul></section>\n"
        }
        out += "</main>\n<script>\(Self.script)</script>\n</body></html>\n"
        try sink.write(out)
    }

    /// Sort key of the findings table's default order: a failing result's severity (critical 4 …
    /// info 0), review -1, not applicable -2, absent -3.
    static func orderRank(_ finding: Finding) -> Int {
        if finding.baselineState == .absent { return -3 }
        switch finding.status {
        case .fail: return finding.severity.rank
        case .review: return -1
        case .notApplicable: return -2
        }
    }

    /// One problem across targets: the findings of one fingerprint (rule, image-relative path,
    /// evidence key), failing or to review, in this run.
    struct Group {
        var fingerprint: String
        var findings: [Finding]
        var targets: [Int]
    }

    /// The grouped view: each problem once, with how many targets (of the scan's) it affects,
    /// which (inventory names and tags), and with an inventory the first and last target in its
    /// order that show it (an inventory listing releases oldest first gives first and last
    /// release seen). Most severe first, then most widespread.
    static func groups(_ report: ScanReport, rules: [String: Rule]) -> String {
        var byFingerprint: [String: Group] = [:]
        var order: [String] = []
        for finding in report.current where finding.status == .fail || finding.status == .review {
            if byFingerprint[finding.fingerprint] == nil {
                byFingerprint[finding.fingerprint] = Group(fingerprint: finding.fingerprint, findings: [], targets: [])
                order.append(finding.fingerprint)
            }
            byFingerprint[finding.fingerprint]!.findings.append(finding)
            if !byFingerprint[finding.fingerprint]!.targets.contains(finding.targetIndex) {
                byFingerprint[finding.fingerprint]!.targets.append(finding.targetIndex)
            }
        }
        let groups = order.compactMap { byFingerprint[$0] }.map { group -> Group in
            var sorted = group
            sorted.targets.sort()
            return sorted
        }.sorted { a, b in
            let x = a.findings.map(orderRank).max() ?? -9, y = b.findings.map(orderRank).max() ?? -9
            if x != y { return x > y }
            if a.targets.count != b.targets.count { return a.targets.count > b.targets.count }
            let p = a.findings[0], q = b.findings[0]
            return (p.ruleID, p.location.path, p.fingerprint) < (q.ruleID, q.location.path, q.fingerprint)
        }
        let inventory = report.targets.contains { $0.name != nil }
        let shared = groups.filter { $0.targets.count > 1 }.count
        var out = "<section id=\"groups\"><h2>Problems across targets</h2><p class=\"meta\">Each problem once — one rule at one place in the image with the same evidence (one fingerprint) — with the targets it affects: \(groups.count) problem(s), \(shared) of them in more than one of the \(report.targets.count) target(s).\(inventory ? " First and last: in the inventory's order." : "")</p>"
        out += "<table class=\"plain\" id=\"group-table\"><thead><tr><th>Severity</th><th>Rule</th><th>Location</th><th>Evidence</th><th>Targets</th><th>Affected</th>\(inventory ? "<th>First / last</th>" : "")</tr></thead><tbody>"
        for group in groups {
            let lead = group.findings.max { orderRank($0) < orderRank($1) } ?? group.findings[0]
            let rule = rules[lead.ruleID]
            let badge = lead.status == .fail ? "sev-" + lead.severity.rawValue : "sev-none"
            let severity = lead.status == .fail ? lead.severity.rawValue : "review"
            let names = group.targets.map { index -> String in
                let target = report.targets[index]
                let tags = target.tags.map { "<span class=\"tag\">\(escape($0))</span>" }.joined()
                return "<span class=\"affected\" data-target=\"\(index)\">\(escape(target.label))\(tags)</span>"
            }.joined(separator: ", ")
            out += "<tr class=\"group\" data-fingerprint=\"\(group.fingerprint)\" data-rule=\"\(lead.ruleID)\" data-path=\"\(escape(lead.location.path))\" data-severity=\"\(severity)\" data-count=\"\(group.targets.count)\">"
            out += "<td><span class=\"sev \(badge)\">\(severity)</span></td>"
            out += "<td><code>\(lead.ruleID)</code> \(escape(rule?.title ?? ""))</td>"
            out += "<td><code>\(escape(lead.location.path.isEmpty ? "." : lead.location.path))</code></td>"
            out += "<td><code>\(escape(String(lead.evidence.key.prefix(80))))</code></td>"
            out += "<td><a href=\"#q=\(group.fingerprint)\" title=\"show these findings\"><b>\(group.targets.count)</b> of \(report.targets.count)</a></td>"
            out += "<td>\(names)</td>"
            if inventory, let first = group.targets.first, let last = group.targets.last {
                out += "<td>\(escape(report.targets[first].label)) / \(escape(report.targets[last].label))</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table></section>\n"
    }

    static func verdict(_ report: ScanReport) -> String {
        switch report.exitStatus {
        case .ok: "<p class=\"verdict pass\" id=\"verdict\">Gate passed: no failing finding at or above \(report.gate)</p>"
        case .gateFailed: "<p class=\"verdict fail\" id=\"verdict\">Gate failed: \(report.gatingFindings.count) finding(s) at or above \(report.gate)"
            + (report.isIncomplete ? " (some targets or checks could not be examined as well: see the diagnostics)" : "") + "</p>"
        case .usage: "<p class=\"verdict warn\" id=\"verdict\">Scan not valid: configuration errors, or no target could be scanned</p>"
        case .incomplete: "<p class=\"verdict warn\" id=\"verdict\">Scan incomplete: some checks could not complete</p>"
        }
    }

    // MARK: Compliance

    /// ETSI EN 303 645 V2.1.1 provisions (5.1-1 … 5.13-1), the OWASP IoT Top 10 (2018).
    static let etsiProvisions: [String] = {
        let counts: [(Int, Int)] = [(1, 5), (2, 3), (3, 16), (4, 4), (5, 8), (6, 9), (7, 2), (8, 3), (9, 3), (10, 1), (11, 4), (12, 3), (13, 1)]
        return counts.flatMap { section, count in (1...count).map { "5.\(section)-\($0)" } }
    }()
    /// The headings of ETSI EN 303 645 V2.1.1 (2020-06) clause 5, the thirteen guidelines each
    /// provision belongs to (public document, www.etsi.org).
    static let etsiClauses: [String: String] = [
        "5.1": "No universal default passwords", "5.2": "Implement a means to manage reports of vulnerabilities",
        "5.3": "Keep software updated", "5.4": "Securely store sensitive security parameters", "5.5": "Communicate securely",
        "5.6": "Minimize exposed attack surfaces", "5.7": "Ensure software integrity", "5.8": "Ensure that personal data is secure",
        "5.9": "Make systems resilient to outages", "5.10": "Examine system telemetry data",
        "5.11": "Make it easy for users to delete user data", "5.12": "Make installation and maintenance of devices easy",
        "5.13": "Validate input data",
    ]
    static let owasp: [(String, String)] = [
        ("I1", "Weak, guessable or hardcoded passwords"), ("I2", "Insecure network services"), ("I3", "Insecure ecosystem interfaces"),
        ("I4", "Lack of secure update mechanism"), ("I5", "Use of insecure or outdated components"), ("I6", "Insufficient privacy protection"),
        ("I7", "Insecure data transfer and storage"), ("I8", "Lack of device management"), ("I9", "Insecure default settings"),
        ("I10", "Lack of physical hardening"),
    ]

    /// The provision a reference names in each standard (`ETSI EN 303 645 5.6-1`, `GB/T 38626 §7.1`, `OWASP IoT I5`).
    static func provisions(_ reference: String) -> [(standard: String, id: String)] {
        let text = reference.trimmingWhitespace()
        if text.hasPrefix("ETSI EN 303 645 ") { return [("etsi", String(text.dropFirst(16)))] }
        if text.hasPrefix("OWASP IoT ") { return [("owasp", String(text.dropFirst(10)))] }
        if text.hasPrefix("GB/T 38626") {
            let section = String(text.dropFirst(10).drop { $0 == " " || $0 == "§" })
            return section.isEmpty ? [] : [("gbt", "§" + section)]
        }
        return []
    }

    static func compliance(_ report: ScanReport, rules: [Rule]) -> String {
        var mapped: [String: [String: [Rule]]] = ["etsi": [:], "gbt": [:], "owasp": [:]]
        for rule in rules {
            for reference in rule.references {
                for (standard, id) in provisions(reference) { mapped[standard, default: [:]][id, default: []].append(rule) }
            }
        }
        let current = report.current
        // Which rules judged a target they apply to: every rule on a root filesystem or a config
        // it applies to; on an endpoint only a rule whose check had that endpoint's facts (an
        // RTSP rule never judged a TLS-only endpoint) or that produced a result there.
        var assessed = Set<String>()
        for (t, target) in report.targets.enumerated() {
            for rule in rules where rule.applies(to: target.kind) {
                if target.kind != .endpoint || Self.hasFacts(for: rule, target)
                    || current.contains(where: { $0.ruleID == rule.id && $0.targetIndex == t }) {
                    assessed.insert(rule.id)
                }
            }
        }
        func status(_ rules: [Rule]?) -> (css: String, text: String, reason: String?) {
            guard let rules, !rules.isEmpty else { return ("unchecked", "not assessed", "no rule that ran maps to it") }
            let ids = Set(rules.map(\.id))
            let results = current.filter { ids.contains($0.ruleID) }
            if results.contains(where: { $0.status == .fail && $0.waiver == nil }) { return ("fail", "fail", nil) }
            if results.contains(where: { $0.status == .review }) { return ("review", "review", nil) }
            let unassessed = rules.map(\.id).filter { !assessed.contains($0) }.sorted()
            if !unassessed.isEmpty {
                return ("unchecked", "not assessed", "no scanned target these rules judge: " + unassessed.joined(separator: ", "))
            }
            return ("pass", "pass", nil)
        }
        func table(_ title: String, _ standard: String, _ rows: [(String, String)]) -> String {
            var out = "<h3>\(title)</h3><table class=\"plain compliance\" data-standard=\"\(standard)\"><thead><tr><th>Provision</th><th>Result</th><th>Rules</th></tr></thead><tbody>"
            var tally: [String: Int] = [:]
            for (id, label) in rows {
                let rules = mapped[standard]?[id]
                let (css, text, reason) = status(rules)
                tally[text, default: 0] += 1
                let ruleList = (rules ?? []).map(\.id).sorted().map { "<a href=\"#q=\($0)\"><code>\($0)</code></a>" }.joined(separator: " ")
                let why = reason.map { " title=\"\(Self.escape($0))\"" } ?? ""
                let note = reason.map { "<br><small>\(Self.escape($0))</small>" } ?? ""
                out += "<tr class=\"c-\(css)\" data-provision=\"\(Self.escape(id))\"><td>\(Self.escape(id))\(label.isEmpty ? "" : " " + Self.escape(label))</td><td><span class=\"c c-\(css)\"\(why)>\(text)</span>\(note)</td><td>\(ruleList)</td></tr>"
            }
            let summary = ["fail", "review", "pass", "not assessed"].map { "\(tally[$0] ?? 0) \($0)" }.joined(separator: " · ")
            return out + "</tbody></table><p class=\"meta\">\(summary)</p>"
        }
        let etsiRows = (etsiProvisions + (mapped["etsi"] ?? [:]).keys.filter { !etsiProvisions.contains($0) }.sorted()).map { id in
            (id, etsiClauses[String(id.prefix { $0 != "-" })].map { "— " + $0 } ?? "")
        }
        let gbtRows = (mapped["gbt"] ?? [:]).keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.map { ($0, "") }
        var out = "<section id=\"compliance\"><h2>Compliance view</h2><p class=\"meta\">Each provision's result comes from the rules that reference it: fail if any of their results fails (waived ones excepted), review if one needs review, pass only when every one of them judged a scanned target it applies to (an endpoint rule only the endpoints whose protocol it reads); otherwise not assessed, with the rules that judged nothing. Each ETSI provision is shown with the heading of its clause (ETSI EN 303 645 V2.1.1 (2020-06), clause 5). GB/T 38626 is mapped at section level (the clause text is not public), listing the sections the rules name.</p>"
        out += table("ETSI EN 303 645", "etsi", etsiRows)
        out += table("GB/T 38626-2020", "gbt", gbtRows)
        out += table("OWASP IoT Top 10 (2018)", "owasp", owasp)
        return out + "</section>\n"
    }

    /// Whether an endpoint target carries the facts `rule`'s checks read (by check family).
    static func hasFacts(for rule: Rule, _ target: ScanTarget) -> Bool {
        rule.implementations(for: .endpoint).contains { implementation in
            let id = implementation.checkID
            if id.hasPrefix("tls.") { return target.tls != nil }
            if id.hasPrefix("ssh.") { return target.ssh != nil }
            if id.hasPrefix("http.") || id.hasPrefix("web.") || id == "endpoint.disclosure" { return target.http != nil }
            if id.hasPrefix("rtsp.") { return target.rtsp != nil }
            if id == "endpoint.snmp" { return target.snmp != nil || target.host?.snmp != nil }
            if id == "endpoint.upnp" || id == "endpoint.service" || id == "endpoint.declared-ports" { return target.host != nil }
            if id == "endpoint.default-login" { return target.http != nil || target.rtsp != nil || target.host != nil }
            return true
        }
    }

    // MARK: Pieces

    /// A horizontal SVG bar chart (label, value, colour), scaled to the largest value.
    static func barChart(_ bars: [(String, Int, String)], id: String) -> String {
        let maximum = max(1, bars.map(\.1).max() ?? 1)
        let rowHeight = 22, labelWidth = 260, barWidth = 240
        var svg = "<svg id=\"\(id)\" role=\"img\" width=\"\(labelWidth + barWidth + 50)\" height=\(bars.count * rowHeight + 4) viewBox=\"0 0 \(labelWidth + barWidth + 50) \(bars.count * rowHeight + 4)\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (i, bar) in bars.enumerated() {
            let y = i * rowHeight + 2, width = bar.1 * barWidth / maximum
            svg += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"12\">\(escape(String(bar.0.prefix(40))))</text>"
            svg += "<rect class=\"bar\" x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(max(width, bar.1 > 0 ? 2 : 0))\" height=\"15\" fill=\"\(bar.2)\" data-value=\"\(bar.1)\"></rect>"
            svg += "<text x=\"\(labelWidth + width + 6)\" y=\"\(y + 15)\" font-size=\"12\">\(bar.1)</text>"
        }
        return svg + "</svg>"
    }

    static func color(_ severity: Severity) -> String {
        switch severity {
        case .critical: "#8b1a1a"
        case .high: "#d0461d"
        case .medium: "#d49a00"
        case .low: "#3b78b8"
        case .info: "#8a8a8a"
        }
    }

    /// HTML text and attributes: the XML escaping (valid in HTML5 too, and it drops characters
    /// neither can carry).
    static func escape(_ text: String) -> String { XML.escape(text) }

    static let style = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
    header,main{max-width:1280px;margin:0 auto;padding:12px 20px}header h1{margin:8px 0 4px;font-size:22px}
    .meta{color:#5a6272;margin:4px 0}.verdict{font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block}
    .verdict.pass{background:#e3f4e6;color:#17602a}.verdict.fail{background:#fbe4e0;color:#8b1a1a}.verdict.warn{background:#fff2cc;color:#6b4d00}
    section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 16px;margin:14px 0}h2{font-size:17px;margin:6px 0 10px}
    table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
    th[data-key]{cursor:pointer;user-select:none;white-space:nowrap}th[data-key]:after{content:" ⇅";color:#9aa3b2}
    th.asc:after{content:" ▲";color:#1d2330}th.desc:after{content:" ▼";color:#1d2330}
    tr.row{cursor:pointer}tr.row:hover{background:#f0f4fa}tr.detail td{background:#fafbfc}
    .charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
    .counts{list-style:none;padding:0;margin:0;display:flex;flex-direction:column;gap:2px}
    .sev{display:inline-block;min-width:58px;text-align:center;border-radius:4px;padding:0 6px;color:#fff;font-size:12px}
    .sev-critical{background:#8b1a1a}.sev-high{background:#d0461d}.sev-medium{background:#d49a00}.sev-low{background:#3b78b8}.sev-info{background:#8a8a8a}.sev-none{background:#eef1f6;color:#5a6272}
    #results td:nth-child(2),#results td:nth-child(5){white-space:nowrap}
    #filters{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:8px}#filters input{flex:1;min-width:220px;padding:4px 8px}#shown{color:#5a6272;align-self:center}
    .tag{display:inline-block;background:#eef1f6;border-radius:10px;padding:0 7px;margin-left:4px;font-size:12px}
    dl{display:grid;grid-template-columns:140px 1fr;gap:4px 12px;margin:4px 0}dt{font-weight:600;color:#5a6272}dd{margin:0}
    pre{white-space:pre-wrap;background:#f3f4f6;padding:6px;border-radius:4px;margin:4px 0}table.facts th{width:160px;color:#5a6272}
    .c{border-radius:4px;padding:0 6px;font-size:12px}.c-fail{background:#fbe4e0;color:#8b1a1a}.c-pass{background:#e3f4e6;color:#17602a}
    .c-review{background:#fff2cc;color:#6b4d00}.c-unchecked{background:#eef1f6;color:#5a6272}
    code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
    .affected{white-space:nowrap}#csv{align-self:center}#group-table td:nth-child(2){min-width:220px}
    """

    /// Filtering, sorting and unfolding; the address fragment carries the state.
    static let script = """
    (function(){
    "use strict";
    window.addEventListener("error",function(e){document.body.setAttribute("data-js-error",String(e.message));});
    var table=document.getElementById("results"),bodies=Array.prototype.slice.call(table.tBodies);
    var q=document.getElementById("q"),sev=document.getElementById("f-severity"),cat=document.getElementById("f-category"),
        st=document.getElementById("f-status"),tg=document.getElementById("f-target"),shown=document.getElementById("shown");
    var sortKey="",sortDir=1;
    function cellText(b,key){var c={severity:0,rule:1,category:2,target:3,location:4,status:5,message:6}[key];return b.rows[0].cells[c].textContent.toLowerCase();}
    function apply(){
      var text=q.value.trim().toLowerCase(),n=0;
      bodies.forEach(function(b){
        var d=b.dataset,ok=(!text||d.search.indexOf(text)>=0)&&(!sev.value||(d.severity===sev.value&&d.status==="fail"))&&(!cat.value||d.category===cat.value)
          &&(!tg.value||d.target===tg.value)&&(!st.value||(st.value==="gating"?d.gating==="true":d.status===st.value));
        b.hidden=!ok;if(ok)n++;});
      shown.textContent=n+" of "+bodies.length+" shown";csv();
      var h=[];if(text)h.push("q="+encodeURIComponent(text));if(sev.value)h.push("severity="+sev.value);if(cat.value)h.push("category="+cat.value);
      if(st.value)h.push("status="+st.value);if(tg.value)h.push("target="+tg.value);if(sortKey)h.push("sort="+sortKey+(sortDir<0?":desc":""));
      var hash=h.join("&");if(location.hash.slice(1)!==hash)history.replaceState(null,"",hash?"#"+hash:location.pathname);}
    function cell(v){v=String(v);if(/^[=+\\-@\\t\\r]/.test(v))v="'"+v;return /[",\\n\\r]/.test(v)?'"'+v.replace(/"/g,'""')+'"':v;}
    function csv(){
      var lines=["severity,status,rule,category,target,location,message,fingerprint"],n=0;
      Array.prototype.forEach.call(table.tBodies,function(b){if(b.hidden)return;n++;var c=b.rows[0].cells,d=b.dataset;
        lines.push([d.status==="fail"||d.status==="waived"||d.status==="absent"?d.severity:"",d.status,c[1].textContent,c[2].textContent,
          c[3].textContent,c[4].textContent,c[6].textContent,d.fingerprint].map(cell).join(","));});
      var a=document.getElementById("csv");a.href="data:text/csv;charset=utf-8,"+encodeURIComponent(lines.join("\\r\\n")+"\\r\\n");
      a.textContent="Export CSV ("+n+" rows)";a.setAttribute("data-rows",n);}
    function sort(key,dir){
      sortKey=key;sortDir=dir;
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){th.className=th.dataset.key===key?(dir>0?"asc":"desc"):"";});
      var sorted=bodies.slice().sort(function(a,b){
        var x,y;if(key==="severity"){x=+a.dataset.rank;y=+b.dataset.rank;}else{x=cellText(a,key);y=cellText(b,key);}
        return (x<y?-1:x>y?1:(+a.dataset.index)-(+b.dataset.index))*dir;});
      sorted.forEach(function(b){table.appendChild(b);});table.setAttribute("data-sorted",key+(dir<0?":desc":""));}
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){th.addEventListener("click",function(){
      var key=th.dataset.key;sort(key,sortKey===key?-sortDir:(key==="severity"?-1:1));apply();});});
    [q,sev,cat,st,tg].forEach(function(el){el.addEventListener("input",apply);el.addEventListener("change",apply);});
    bodies.forEach(function(b){var row=b.rows[0];function toggle(){b.rows[1].hidden=!b.rows[1].hidden;}
      row.addEventListener("click",toggle);row.addEventListener("keydown",function(e){if(e.key==="Enter")toggle();});});
    function fromHash(){
      location.hash.slice(1).split("&").forEach(function(p){var kv=p.split("=");var v=decodeURIComponent(kv[1]||"");
        if(kv[0]==="q")q.value=v;else if(kv[0]==="severity")sev.value=v;else if(kv[0]==="category")cat.value=v;
        else if(kv[0]==="status")st.value=v;else if(kv[0]==="target")tg.value=v;
        else if(kv[0]==="sort"){var s=v.split(":");sort(s[0],s[1]==="desc"?-1:1);}});
      apply();}
    window.addEventListener("hashchange",fromHash);fromHash();
    document.body.setAttribute("data-ready","true");
    })();
    """
}
