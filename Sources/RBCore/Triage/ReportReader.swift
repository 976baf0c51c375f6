import Foundation

/// Reads an rbscan report back into a `ScanReport`, for `rbscan merge` and `rbscan diff`: the
/// JSON report completely (targets with their fleet facts, rules, findings with evidence,
/// waivers and baseline states, diagnostics), SARIF as far as it carries the same (rules from
/// `tool.driver.rules`, results with rbscan's properties; targets from the results' `target`
/// property). Endpoint probe details and SBOM components are not carried over.
///
/// The report is decoded field by field into the types below (Foundation's decoder skips every
/// field they do not name), straight from the file's bytes: a dictionary of every value took
/// 918 MB for a 51 MB report. A field of an unexpected type is taken as absent.
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
        let document = try PreviousResults.Slim.decode(Wire.Document.self, from: bytes) { fail("not a JSON document: " + $0) }
        if let runs = document.runs { return try sarif(runs, file: file, fail: fail) }
        guard document.hasSchemaVersion else { throw fail("not an rbscan SARIF (runs) or JSON (schemaVersion) report") }
        guard let version = document.schemaVersion else { throw fail("JSON report schemaVersion is not a number") }
        guard version == 1 else { throw fail("JSON report schemaVersion \(version) is not supported (this rbscan reads 1)") }
        return try json(document, file: file, fail: fail)
    }

    public static func rule(id: String, title: String, category: String, severity: String, description: String, rationale: String?,
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

    static func json(_ document: Wire.Document, file: String, fail: (String) -> DiagnosticError) throws(DiagnosticError) -> ScanReport {
        var targets: [ScanTarget] = []
        for info in document.targets ?? [] {
            guard let spec = info.spec, let kind = TargetKind(rawValue: info.kind ?? "") else { throw fail("a target without spec or kind") }
            var target = ScanTarget(spec: spec, kind: kind, tree: nil, baseID: info.baseId ?? "TARGET", baseURI: info.uri,
                                    containers: info.containers ?? [])
            target.name = info.name
            target.tags = info.tags ?? []
            target.fleet = info.fleet
            target.components = info.components
            targets.append(target)
        }
        var rules: [Rule] = []
        for info in document.rules ?? [] {
            guard let id = info.id,
                  let rule = rule(id: id, title: info.title ?? id, category: info.category ?? "", severity: info.severity ?? "",
                                  description: info.description ?? "", rationale: info.rationale, remediation: info.remediation ?? "",
                                  references: info.references ?? [], checks: info.check ?? "", pack: info.pack ?? "",
                                  targets: info.targets, file: file)
            else { throw fail("rule \(info.id ?? "?"): unknown category or severity") }
            var kept = rule
            // A merged report still names the rule packs its rules came from.
            kept.manifest = info.manifest
            rules.append(kept)
        }
        var findings: [Finding] = []
        findings.reserveCapacity(document.findings?.count ?? 0)
        for info in document.findings ?? [] {
            guard let ruleID = info.ruleId, let status = FindingStatus(rawValue: info.status ?? ""),
                  let severity = Severity(rawValue: info.severity ?? ""), let category = Category(rawValue: info.category ?? ""),
                  let target = info.target, target >= 0, target < targets.count, let fingerprint = info.fingerprint
            else { throw fail("a finding without ruleId, status, severity, category, target or fingerprint") }
            var finding = Finding(ruleID: ruleID, status: status, severity: severity, category: category, message: info.message ?? "",
                                  targetIndex: target, location: Location(path: info.path ?? "", line: info.line),
                                  evidence: Evidence(key: info.evidence?.key ?? "", snippet: info.evidence?.snippet,
                                                     facts: info.evidence?.facts ?? [:]))
            finding.fingerprint = fingerprint
            finding.baselineState = info.baselineState.flatMap(BaselineState.init(rawValue:))
            finding.relatedLocations = info.relatedLocations
            if let waiver = info.waiver {
                finding.waiver = AppliedWaiver(justification: waiver.justification ?? "", owner: waiver.owner,
                                               expires: waiver.expires ?? "", source: waiver.source ?? "")
            }
            findings.append(finding)
        }
        let diagnostics = (document.diagnostics ?? []).map { info in
            Diagnostic(Diagnostic.Level(rawValue: info.level ?? "") ?? .warning, Diagnostic.Domain(rawValue: info.domain ?? "") ?? .check,
                       code: info.code ?? "", info.message ?? "", at: info.location.map { SourceLocation(file: $0) }, rule: info.ruleId)
        }
        return ScanReport(targets: targets, rules: rules, findings: findings, diagnostics: diagnostics,
                          baselineID: document.baseline?.id ?? "none",
                          gate: GateThreshold(rawValue: document.baseline?.failOn ?? "") ?? .severity(.high),
                          startTime: document.startTime, endTime: document.endTime)
    }

    static func sarif(_ runs: [Wire.Run], file: String, fail: (String) -> DiagnosticError) throws(DiagnosticError) -> ScanReport {
        guard let run = runs.first else { throw fail("a SARIF log without runs") }
        let driverRules = run.tool?.driver?.rules ?? []
        var rules: [Rule] = []
        for info in driverRules {
            guard let id = info.id,
                  let rule = rule(id: id, title: info.shortDescription?.text ?? id,
                                  category: info.properties?.category ?? "", severity: info.properties?.severity ?? "",
                                  description: info.fullDescription?.text ?? "", rationale: nil,
                                  remediation: info.help?.text ?? "", references: info.properties?.references ?? [],
                                  checks: info.properties?.check ?? "", pack: "", targets: nil, file: file)
            else { throw fail("SARIF rule \(info.id ?? "?") was not written by rbscan (no category/severity properties)") }
            rules.append(rule)
        }
        var targets: [ScanTarget] = []
        var index: [String: Int] = [:]
        var findings: [Finding] = []
        for result in run.results ?? [] {
            guard let fingerprint = result.partialFingerprints?[PreviousResults.sarifFingerprintKey] else {
                throw fail("a SARIF result without partialFingerprints[\"\(PreviousResults.sarifFingerprintKey)\"]: not written by rbscan")
            }
            if result.baselineState == "absent" { continue }
            let ruleID = result.ruleId ?? result.ruleIndex.flatMap { $0 >= 0 && $0 < driverRules.count ? driverRules[$0].id : nil } ?? ""
            let physical = result.locations?.first?.physicalLocation
            let uri = physical?.artifactLocation?.uri ?? ""
            let path = uri.contains("://") ? uri : (uri.removingPercentEncoding ?? uri)
            let spec = result.properties?.target ?? ""
            if index[spec] == nil {
                index[spec] = targets.count
                targets.append(ScanTarget(spec: spec, kind: path.contains("://") ? .endpoint : .firmware, tree: nil,
                                          baseID: "TARGET\(targets.count)", baseURI: nil))
            }
            let kind = result.kind ?? "fail"
            let severity = Severity(rawValue: result.properties?.severity ?? "") ?? .medium
            let category = Category(rawValue: result.properties?.category ?? "") ?? .SYS
            var finding = Finding(ruleID: ruleID, status: kind == "review" ? .review : kind == "notApplicable" ? .notApplicable : .fail,
                                  severity: severity, category: category, message: result.message?.text ?? "",
                                  targetIndex: index[spec] ?? 0, location: Location(path: path, line: physical?.region?.startLine),
                                  evidence: Evidence(key: result.properties?.evidenceKey ?? "", snippet: physical?.region?.snippet ?? result.properties?.snippet,
                                                     facts: result.properties?.facts ?? [:]))
            finding.fingerprint = fingerprint
            finding.baselineState = result.baselineState.flatMap(BaselineState.init(rawValue:))
            if let suppression = result.suppressions?.first {
                finding.waiver = AppliedWaiver(justification: suppression.justification ?? "", owner: suppression.properties?.owner,
                                               expires: suppression.properties?.expires ?? "", source: suppression.properties?.waiver ?? "")
            }
            findings.append(finding)
        }
        let notifications = run.invocations?.first?.toolExecutionNotifications ?? []
        let diagnostics = notifications.map { info in
            Diagnostic(info.level == "error" ? .error : info.level == "note" ? .note : .warning, .check,
                       code: info.descriptor?.id ?? "", info.message?.text ?? "")
        }
        return ScanReport(targets: targets, rules: rules, findings: findings, diagnostics: diagnostics,
                          baselineID: run.properties?.baseline ?? "none",
                          gate: GateThreshold(rawValue: run.properties?.failOn ?? "") ?? .severity(.high))
    }

    /// The fields of rbscan's JSON and SARIF reports that `merge` and `diff` read back.
    enum Wire {
        typealias Key = PreviousResults.Slim.Key

        struct Document: Decodable {
            var hasSchemaVersion: Bool
            var schemaVersion: Int?
            var runs: [Run]?
            var targets: [Target]?
            var rules: [RuleInfo]?
            var findings: [FindingInfo]?
            var diagnostics: [DiagnosticInfo]?
            var baseline: Baseline?
            var startTime: String?
            var endTime: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                hasSchemaVersion = c.contains(Key("schemaVersion"))
                schemaVersion = c.lenient("schemaVersion")
                // Arrays are decoded strictly: a report whose findings do not decode is malformed,
                // never read as a report without findings.
                runs = try c.decodeIfPresent([Run].self, forKey: Key("runs"))
                targets = try c.decodeIfPresent([Target].self, forKey: Key("targets"))
                rules = try c.decodeIfPresent([RuleInfo].self, forKey: Key("rules"))
                findings = try c.decodeIfPresent([FindingInfo].self, forKey: Key("findings"))
                diagnostics = c.lenient("diagnostics")
                baseline = c.lenient("baseline")
                startTime = c.lenient("startTime")
                endTime = c.lenient("endTime")
            }
        }
        struct Baseline: Decodable {
            var id: String?, failOn: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                id = c.lenient("id"); failOn = c.lenient("failOn")
            }
        }
        struct Target: Decodable {
            var spec: String?, kind: String?, baseId: String?, uri: String?, name: String?
            var containers: [String]?, tags: [String]?
            var fleet: FleetFacts?
            var components: [Component]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                spec = c.lenient("spec"); kind = c.lenient("kind"); baseId = c.lenient("baseId"); uri = c.lenient("uri")
                name = c.lenient("name"); containers = c.lenient("containers"); tags = c.lenient("tags")
                fleet = c.lenient("fleet"); components = c.lenient("components")
            }
        }
        struct RuleInfo: Decodable {
            var id: String?, title: String?, category: String?, severity: String?, description: String?, rationale: String?
            var remediation: String?, check: String?, pack: String?
            var references: [String]?, targets: [String]?
            var manifest: ManifestReference?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                id = c.lenient("id"); title = c.lenient("title"); category = c.lenient("category"); severity = c.lenient("severity")
                description = c.lenient("description"); rationale = c.lenient("rationale"); remediation = c.lenient("remediation")
                check = c.lenient("check"); pack = c.lenient("pack"); references = c.lenient("references"); targets = c.lenient("targets")
                manifest = c.lenient("manifest")
            }
        }
        struct FindingInfo: Decodable {
            var ruleId: String?, status: String?, severity: String?, category: String?, message: String?, path: String?
            var fingerprint: String?, baselineState: String?
            var target: Int?, line: Int?
            var waiver: Waiver?
            var evidence: EvidenceInfo?
            /// A grouped review result's other places (kept through merge and diff).
            var relatedLocations: [Location]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                ruleId = c.lenient("ruleId"); status = c.lenient("status"); severity = c.lenient("severity")
                category = c.lenient("category"); message = c.lenient("message"); path = c.lenient("path")
                fingerprint = c.lenient("fingerprint"); baselineState = c.lenient("baselineState")
                target = c.lenient("target"); line = c.lenient("line"); waiver = c.lenient("waiver"); evidence = c.lenient("evidence")
                relatedLocations = c.lenient("relatedLocations")
            }
        }
        struct Waiver: Decodable {
            var justification: String?, owner: String?, expires: String?, source: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                justification = c.lenient("justification"); owner = c.lenient("owner"); expires = c.lenient("expires"); source = c.lenient("source")
            }
        }
        struct EvidenceInfo: Decodable {
            var key: String?, snippet: String?
            var facts: [String: String]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                key = c.lenient("key"); snippet = c.lenient("snippet"); facts = c.lenient("facts")
            }
        }
        struct DiagnosticInfo: Decodable {
            var level: String?, domain: String?, code: String?, message: String?, location: String?, ruleId: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                level = c.lenient("level"); domain = c.lenient("domain"); code = c.lenient("code")
                message = c.lenient("message"); location = c.lenient("location"); ruleId = c.lenient("ruleId")
            }
        }

        // SARIF
        struct Run: Decodable {
            var tool: Tool?
            var results: [Result]?
            var invocations: [Invocation]?
            var properties: RunProperties?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                tool = c.lenient("tool")
                results = try c.decodeIfPresent([Result].self, forKey: Key("results"))
                invocations = c.lenient("invocations"); properties = c.lenient("properties")
            }
        }
        struct Tool: Decodable { var driver: Driver? }
        struct Driver: Decodable { var rules: [SARIFRule]? }
        struct Text: Decodable {
            var text: String?
            init(from decoder: any Decoder) throws { text = try decoder.container(keyedBy: Key.self).lenient("text") }
        }
        struct SARIFRule: Decodable {
            var id: String?
            var shortDescription: Text?, fullDescription: Text?, help: Text?
            var properties: RuleProperties?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                id = c.lenient("id"); shortDescription = c.lenient("shortDescription"); fullDescription = c.lenient("fullDescription")
                help = c.lenient("help"); properties = c.lenient("properties")
            }
        }
        struct RuleProperties: Decodable {
            var category: String?, severity: String?, check: String?
            var references: [String]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                category = c.lenient("category"); severity = c.lenient("severity"); check = c.lenient("check"); references = c.lenient("references")
            }
        }
        struct Result: Decodable {
            var ruleId: String?, kind: String?, baselineState: String?
            var ruleIndex: Int?
            var message: Text?
            var locations: [PreviousResults.Slim.Location]?
            var partialFingerprints: [String: String]?
            var properties: ResultProperties?
            var suppressions: [Suppression]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                ruleId = c.lenient("ruleId"); kind = c.lenient("kind"); baselineState = c.lenient("baselineState")
                ruleIndex = c.lenient("ruleIndex"); message = c.lenient("message"); locations = c.lenient("locations")
                partialFingerprints = c.lenient("partialFingerprints"); properties = c.lenient("properties")
                suppressions = c.lenient("suppressions")
            }
        }
        struct ResultProperties: Decodable {
            var severity: String?, category: String?, target: String?, evidenceKey: String?, snippet: String?
            var facts: [String: String]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                severity = c.lenient("severity"); category = c.lenient("category"); target = c.lenient("target")
                evidenceKey = c.lenient("evidenceKey"); facts = c.lenient("facts"); snippet = c.lenient("snippet")
            }
        }
        struct Suppression: Decodable {
            var justification: String?
            var properties: SuppressionProperties?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                justification = c.lenient("justification"); properties = c.lenient("properties")
            }
        }
        struct SuppressionProperties: Decodable {
            var owner: String?, expires: String?, waiver: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                owner = c.lenient("owner"); expires = c.lenient("expires"); waiver = c.lenient("waiver")
            }
        }
        struct Invocation: Decodable {
            var toolExecutionNotifications: [Notification]?
            init(from decoder: any Decoder) throws {
                toolExecutionNotifications = try decoder.container(keyedBy: Key.self).lenient("toolExecutionNotifications")
            }
        }
        struct Notification: Decodable {
            var level: String?
            var message: Text?
            var descriptor: Descriptor?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                level = c.lenient("level"); message = c.lenient("message"); descriptor = c.lenient("descriptor")
            }
        }
        struct Descriptor: Decodable {
            var id: String?
            init(from decoder: any Decoder) throws { id = try decoder.container(keyedBy: Key.self).lenient("id") }
        }
        struct RunProperties: Decodable {
            var baseline: String?, failOn: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                baseline = c.lenient("baseline"); failOn = c.lenient("failOn")
            }
        }
    }
}

extension KeyedDecodingContainer where Key == PreviousResults.Slim.Key {
    /// The value at `key` when it has the expected type, else nil (absent, null or another type).
    func lenient<T: Decodable>(_ key: String) -> T? {
        (try? decodeIfPresent(T.self, forKey: Key(key))) ?? nil
    }
}
