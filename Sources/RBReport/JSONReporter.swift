import RBCore

/// rbscan's own findings document (`--format json`), versioned by `schemaVersion`; the same
/// content as SARIF in a friendlier shape. Documented in docs/json-format.md.
public struct JSONReporter: Reporter {
    public static let name = "json"
    public static let fileExtensions = ["json"]
    /// Bumped on any incompatible change of the document's shape.
    public static let schemaVersion = 1

    public init() {}

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        try JSONOutput.encode(Self.document(for: report))
    }

    /// The findings are written one at a time (a `--compare` report can hold 100,000 of them).
    public func write(_ report: ScanReport, color: Bool, to sink: any ReportSink) throws {
        var document = Self.document(for: report)
        guard document.findings.count > 0 else { return try sink.write(render(report, color: color)) }
        document.findings.streamed = true
        try JSONOutput.stream(document, array: document.findings, to: sink)
    }

    static func document(for report: ScanReport) -> Document {
        var bySeverity = Dictionary(uniqueKeysWithValues: Severity.allCases.map { ($0.rawValue, 0) })
        var byCategory: [String: Int] = [:]
        var byStatus = ["fail": 0, "review": 0, "notApplicable": 0]
        var byBaselineState: [String: Int] = [:]
        for finding in report.findings {
            if let state = finding.baselineState { byBaselineState[state.rawValue, default: 0] += 1 }
        }
        for finding in report.current {
            byStatus[finding.status.rawValue, default: 0] += 1
            guard finding.status == .fail, finding.waiver == nil else { continue }
            bySeverity[finding.severity.rawValue, default: 0] += 1
            byCategory[finding.category.rawValue, default: 0] += 1
        }
        let status = report.exitStatus
        let summary = Summary(findings: report.findings.count, byStatus: byStatus, bySeverity: bySeverity,
                              byCategory: byCategory, waived: report.current.filter { $0.waiver != nil }.count,
                              byBaselineState: byBaselineState.isEmpty ? nil : byBaselineState,
                              gate: report.gatingFindings.isEmpty ? "passed" : "failed",
                              gatingFindings: report.gatingFindings.count, exitCode: Int(status.rawValue))
        return Document(
            schemaVersion: schemaVersion,
            tool: Tool(name: "rbscan", version: RBScanVersion.current),
            startTime: report.startTime, endTime: report.endTime,
            baseline: BaselineInfo(id: report.baselineID, failOn: report.gate.description),
            summary: summary,
            targets: report.targets.enumerated().map { i, target in
                Target(index: i, spec: target.spec, kind: target.kind.rawValue, baseId: target.baseID,
                       uri: target.baseURI, containers: target.containers, name: target.name, label: target.label,
                       tags: target.tags.isEmpty ? nil : target.tags, fleet: target.fleet?.forReport,
                       components: target.components)
            },
            endpoints: report.targets.enumerated().compactMap { i, target in
                target.kind == .endpoint ? EndpointInfo(target: i, uri: target.spec, tls: target.tls, ssh: target.ssh, host: target.host, http: target.http,
                                                      rtsp: target.rtsp, snmp: target.snmp) : nil
            },
            rules: report.rules.map { rule in
                RuleInfo(id: rule.id, title: rule.title, category: rule.category.rawValue,
                         categoryTitle: rule.category.title, severity: rule.severity.rawValue,
                         description: rule.description.trimmingWhitespace().description,
                         rationale: rule.rationale?.trimmingWhitespace().description,
                         remediation: rule.remediation.trimmingWhitespace().description,
                         references: rule.references, check: rule.checkIDs, pack: rule.pack,
                         manifest: rule.manifest, targets: rule.targets.map(\.rawValue))
            },
            findings: StreamedArray(count: report.findings.count) { i in
                let finding = report.findings[i]
                return FindingInfo(ruleId: finding.ruleID, status: finding.status.rawValue, severity: finding.severity.rawValue,
                            category: finding.category.rawValue, message: finding.message, target: finding.targetIndex,
                            path: finding.location.path, line: finding.location.line, fingerprint: finding.fingerprint,
                            evidenceState: Fingerprint.evidenceState(finding.evidence),
                            gating: report.gates(finding), waiver: finding.waiver, baselineState: finding.baselineState?.rawValue,
                            evidence: EvidenceInfo(key: finding.evidence.key, snippet: finding.evidence.snippet,
                                                   facts: finding.evidence.facts),
                            relatedLocations: finding.relatedLocations)
            },
            diagnostics: report.diagnostics.map { d in
                DiagnosticInfo(level: d.level.rawValue, domain: d.domain.rawValue, code: d.code, message: d.message,
                               location: d.location?.description, ruleId: d.ruleID)
            })
    }

    struct Document: Encodable {
        var schemaVersion: Int
        var tool: Tool
        var startTime: String?
        var endTime: String?
        var baseline: BaselineInfo
        var summary: Summary
        var targets: [Target]
        var endpoints: [EndpointInfo]
        var rules: [RuleInfo]
        var findings: StreamedArray<FindingInfo>
        var diagnostics: [DiagnosticInfo]
    }
    struct Tool: Encodable { var name: String; var version: String }
    struct BaselineInfo: Encodable { var id: String; var failOn: String }
    struct Summary: Encodable {
        var findings: Int
        var byStatus: [String: Int]
        var bySeverity: [String: Int]
        var byCategory: [String: Int]
        /// Findings a waiver accepted (not counted by the gate).
        var waived: Int
        /// With --compare: findings per baselineState (new, unchanged, updated, absent).
        var byBaselineState: [String: Int]?
        var gate: String
        var gatingFindings: Int
        var exitCode: Int
    }
    struct Target: Encodable {
        var index: Int
        var spec: String
        var kind: String
        var baseId: String
        var uri: String?
        var containers: [String]
        var name: String?
        /// How reports name the target: `name`, else a short label (`cam.bin → squashfs@0x40`).
        var label: String
        var tags: [String]?
        /// Digests the fleet rules compare across targets (kept so that `rbscan merge` can).
        var fleet: FleetFacts?
        /// A firmware target's software components (the SBOM), when computed.
        var components: [Component]?
    }
    /// One probed endpoint: what the scanner learned, for triage.
    struct EndpointInfo: Encodable {
        var target: Int
        var uri: String
        /// Protocols with their accepted suites (server preference order), handshakes used, problems.
        var tls: TLSFacts?
        var ssh: SSHFacts?
        var host: HostFacts?
        var http: HTTPFacts?
        var rtsp: RTSPFacts?
        var snmp: SNMPFacts?
    }
    struct RuleInfo: Encodable {
        var id: String
        var title: String
        var category: String
        var categoryTitle: String
        var severity: String
        var description: String
        var rationale: String?
        var remediation: String
        var references: [String]
        var check: String
        var pack: String
        /// The pack manifest (id, version) of the rule's rules directory, when it has one.
        var manifest: ManifestReference?
        var targets: [String]
    }
    struct FindingInfo: Encodable {
        var ruleId: String
        var status: String
        var severity: String
        var category: String
        var message: String
        var target: Int
        var path: String
        var line: Int?
        var fingerprint: String
        /// What `--compare` checks to call a finding updated (`Fingerprint.evidenceState`).
        var evidenceState: String
        var gating: Bool
        var waiver: AppliedWaiver?
        var baselineState: String?
        var evidence: EvidenceInfo
        /// The other places of a grouped review result.
        var relatedLocations: [Location]?
    }
    struct EvidenceInfo: Encodable {
        var key: String
        var snippet: String?
        var facts: [String: String]
    }
    struct DiagnosticInfo: Encodable {
        var level: String
        var domain: String
        var code: String
        var message: String
        var location: String?
        var ruleId: String?
    }
}
