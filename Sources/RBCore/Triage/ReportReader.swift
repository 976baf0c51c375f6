import Foundation

/// Reads an rbscan report back into a `ScanReport`, for `rbscan merge` and `rbscan diff`: the
/// JSON report completely (targets with their fleet facts, rules, findings with evidence,
/// waivers and baseline states, diagnostics), SARIF as far as it carries the same (rules from
/// `tool.driver.rules`, results with rbscan's properties; targets from the results' `target`
/// property). Endpoint probe details and SBOM components are not carried over.
public enum ReportReader {
    /// A rule read from a report: it is never run again, so its check does nothing.
    struct ReportedCheck: Check {
        struct Options: Decodable, Sendable {}
        static let id = "reported"
        static let summary = "A rule read back from a report."
        static let targetKinds = Set(TargetKind.allCases)
        init(options: Options) {}
        func run(in context: CheckContext) async throws -> [Observation] { [] }
    }

    public static func load(file: String) throws(DiagnosticError) -> ScanReport {
        let bytes: [UInt8]
        do { bytes = try HostFiles.readBytes(file, limit: 1 << 30) } catch {
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "report.unreadable", "\(error)", at: SourceLocation(file: file)))
        }
        func fail(_ message: String) -> DiagnosticError {
            DiagnosticError(Diagnostic(.error, .configuration, code: "report.malformed", message, at: SourceLocation(file: file)))
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)), let document = object as? [String: Any] else {
            throw fail("not a JSON document")
        }
        if document["runs"] != nil { return try sarif(document, file: file, fail: fail) }
        guard let version = document["schemaVersion"] as? Int else { throw fail("not an rbscan SARIF (runs) or JSON (schemaVersion) report") }
        guard version == 1 else { throw fail("JSON report schemaVersion \(version) is not supported (this rbscan reads 1)") }
        return try json(document, file: file, fail: fail)
    }

    static func rule(id: String, title: String, category: String, severity: String, description: String, rationale: String?,
                     remediation: String, references: [String], checks: String, pack: String, targets: [String]?, file: String) -> Rule? {
        guard let category = Category(rawValue: category), let severity = Severity(rawValue: severity) else { return nil }
        let kinds = targets.map { $0.compactMap(TargetKind.init(rawValue:)) } ?? TargetKind.allCases
        let implementations = checks.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }.map {
            RuleImplementation(checkID: String($0), check: ReportedCheck(options: .init()), targets: kinds)
        }
        return Rule(id: id, title: title, category: category, severity: severity, description: description, rationale: rationale,
                    remediation: remediation, references: references,
                    implementations: implementations.isEmpty ? [RuleImplementation(checkID: "reported", check: ReportedCheck(options: .init()), targets: kinds)] : implementations,
                    examples: RuleExamples(), source: SourceLocation(file: file), pack: pack)
    }

    static func json(_ document: [String: Any], file: String, fail: (String) -> DiagnosticError) throws(DiagnosticError) -> ScanReport {
        var targets: [ScanTarget] = []
        for info in document["targets"] as? [[String: Any]] ?? [] {
            guard let spec = info["spec"] as? String, let kind = TargetKind(rawValue: info["kind"] as? String ?? "") else { throw fail("a target without spec or kind") }
            var target = ScanTarget(spec: spec, kind: kind, tree: nil, baseID: info["baseId"] as? String ?? "TARGET", baseURI: info["uri"] as? String,
                                    containers: info["containers"] as? [String] ?? [])
            target.name = info["name"] as? String
            target.tags = info["tags"] as? [String] ?? []
            if let fleet = info["fleet"], let data = try? JSONSerialization.data(withJSONObject: fleet) {
                target.fleet = try? JSONDecoder().decode(FleetFacts.self, from: data)
            }
            if let components = info["components"], let data = try? JSONSerialization.data(withJSONObject: components) {
                target.components = try? JSONDecoder().decode([Component].self, from: data)
            }
            targets.append(target)
        }
        var rules: [Rule] = []
        for info in document["rules"] as? [[String: Any]] ?? [] {
            guard let id = info["id"] as? String,
                  let rule = rule(id: id, title: info["title"] as? String ?? id, category: info["category"] as? String ?? "",
                                  severity: info["severity"] as? String ?? "", description: info["description"] as? String ?? "",
                                  rationale: info["rationale"] as? String, remediation: info["remediation"] as? String ?? "",
                                  references: info["references"] as? [String] ?? [], checks: info["check"] as? String ?? "",
                                  pack: info["pack"] as? String ?? "", targets: info["targets"] as? [String], file: file)
            else { throw fail("rule \(info["id"] ?? "?"): unknown category or severity") }
            rules.append(rule)
        }
        var findings: [Finding] = []
        for info in document["findings"] as? [[String: Any]] ?? [] {
            guard let ruleID = info["ruleId"] as? String, let status = FindingStatus(rawValue: info["status"] as? String ?? ""),
                  let severity = Severity(rawValue: info["severity"] as? String ?? ""), let category = Category(rawValue: info["category"] as? String ?? ""),
                  let target = info["target"] as? Int, target < targets.count, let fingerprint = info["fingerprint"] as? String
            else { throw fail("a finding without ruleId, status, severity, category, target or fingerprint") }
            let evidence = info["evidence"] as? [String: Any] ?? [:]
            var finding = Finding(ruleID: ruleID, status: status, severity: severity, category: category, message: info["message"] as? String ?? "",
                                  targetIndex: target, location: Location(path: info["path"] as? String ?? "", line: info["line"] as? Int),
                                  evidence: Evidence(key: evidence["key"] as? String ?? "", snippet: evidence["snippet"] as? String,
                                                     facts: evidence["facts"] as? [String: String] ?? [:]))
            finding.fingerprint = fingerprint
            finding.baselineState = (info["baselineState"] as? String).flatMap(BaselineState.init(rawValue:))
            if let waiver = info["waiver"] as? [String: Any] {
                finding.waiver = AppliedWaiver(justification: waiver["justification"] as? String ?? "", owner: waiver["owner"] as? String,
                                               expires: waiver["expires"] as? String ?? "", source: waiver["source"] as? String ?? "")
            }
            findings.append(finding)
        }
        let diagnostics = (document["diagnostics"] as? [[String: Any]] ?? []).map(diagnostic)
        let baseline = document["baseline"] as? [String: Any] ?? [:]
        return ScanReport(targets: targets, rules: rules, findings: findings, diagnostics: diagnostics,
                          baselineID: baseline["id"] as? String ?? "none",
                          gate: GateThreshold(rawValue: baseline["failOn"] as? String ?? "") ?? .severity(.high),
                          startTime: document["startTime"] as? String, endTime: document["endTime"] as? String)
    }

    static func diagnostic(_ info: [String: Any]) -> Diagnostic {
        Diagnostic(Diagnostic.Level(rawValue: info["level"] as? String ?? "") ?? .warning,
                   Diagnostic.Domain(rawValue: info["domain"] as? String ?? "") ?? .check,
                   code: info["code"] as? String ?? "", info["message"] as? String ?? "",
                   at: (info["location"] as? String).map { SourceLocation(file: $0) }, rule: info["ruleId"] as? String)
    }

    static func sarif(_ document: [String: Any], file: String, fail: (String) -> DiagnosticError) throws(DiagnosticError) -> ScanReport {
        guard let run = (document["runs"] as? [[String: Any]])?.first else { throw fail("a SARIF log without runs") }
        let driver = (run["tool"] as? [String: Any])?["driver"] as? [String: Any] ?? [:]
        var rules: [Rule] = []
        for info in driver["rules"] as? [[String: Any]] ?? [] {
            let properties = info["properties"] as? [String: Any] ?? [:]
            guard let id = info["id"] as? String,
                  let rule = rule(id: id, title: (info["shortDescription"] as? [String: Any])?["text"] as? String ?? id,
                                  category: properties["category"] as? String ?? "", severity: properties["severity"] as? String ?? "",
                                  description: (info["fullDescription"] as? [String: Any])?["text"] as? String ?? "", rationale: nil,
                                  remediation: (info["help"] as? [String: Any])?["text"] as? String ?? "",
                                  references: properties["references"] as? [String] ?? [], checks: properties["check"] as? String ?? "",
                                  pack: "", targets: nil, file: file)
            else { throw fail("SARIF rule \(info["id"] ?? "?") was not written by rbscan (no category/severity properties)") }
            rules.append(rule)
        }
        let previous = try PreviousResults.parse(document: document, file: file)
        var targets: [ScanTarget] = []
        var index: [String: Int] = [:]
        for entry in previous.entries where index[entry.target] == nil {
            index[entry.target] = targets.count
            targets.append(ScanTarget(spec: entry.target, kind: entry.path.contains("://") ? .endpoint : .firmware, tree: nil,
                                      baseID: "TARGET\(targets.count)", baseURI: nil))
        }
        let results = run["results"] as? [[String: Any]] ?? []
        var findings: [Finding] = []
        for (entry, result) in zip(previous.entries, results.filter { $0["baselineState"] as? String != "absent" }) {
            let properties = result["properties"] as? [String: Any] ?? [:]
            var finding = Finding(ruleID: entry.ruleID, status: entry.status, severity: entry.severity,
                                  category: Category(rawValue: entry.category) ?? .SYS, message: entry.message,
                                  targetIndex: index[entry.target] ?? 0, location: Location(path: entry.path, line: entry.line),
                                  evidence: Evidence(key: properties["evidenceKey"] as? String ?? "", facts: properties["facts"] as? [String: String] ?? [:]))
            finding.fingerprint = entry.fingerprint
            finding.baselineState = (result["baselineState"] as? String).flatMap(BaselineState.init(rawValue:))
            if let suppression = (result["suppressions"] as? [[String: Any]])?.first {
                let extra = suppression["properties"] as? [String: Any] ?? [:]
                finding.waiver = AppliedWaiver(justification: suppression["justification"] as? String ?? "", owner: extra["owner"] as? String,
                                               expires: extra["expires"] as? String ?? "", source: extra["waiver"] as? String ?? "")
            }
            findings.append(finding)
        }
        let notifications = ((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"] as? [[String: Any]]) ?? []
        let diagnostics = notifications.map { info in
            Diagnostic(info["level"] as? String == "error" ? .error : info["level"] as? String == "note" ? .note : .warning, .check,
                       code: (info["descriptor"] as? [String: Any])?["id"] as? String ?? "", (info["message"] as? [String: Any])?["text"] as? String ?? "")
        }
        let properties = run["properties"] as? [String: Any] ?? [:]
        return ScanReport(targets: targets, rules: rules, findings: findings, diagnostics: diagnostics,
                          baselineID: properties["baseline"] as? String ?? "none",
                          gate: GateThreshold(rawValue: properties["failOn"] as? String ?? "") ?? .severity(.high))
    }
}
