import RBCore

/// SARIF 2.1.0, typed: one `Encodable` struct per SARIF object, keys sorted.
///
/// One run per invocation; `tool.driver.rules` holds every rule that ran (with
/// `security-severity`); results carry `ruleIndex`, a `kind`, a `level`, a relative
/// `artifactLocation` with the target's `uriBaseId`, a region when a line is known, and
/// `partialFingerprints` that survive rebuilds. Run diagnostics are
/// `invocations[0].toolExecutionNotifications`.
public struct SARIFReporter: Reporter {
    public static let name = "sarif"
    public static let fileExtensions = ["sarif", "sarif.json"]
    public static let schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    /// The key of rbscan's fingerprint in `partialFingerprints` (versioned with its recipe).
    public static let fingerprintKey = PreviousResults.sarifFingerprintKey

    public init() {}

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        try JSONOutput.encode(Self.log(for: report))
    }

    /// The results are written one at a time (a `--compare` report can hold 100,000 of them).
    public func write(_ report: ScanReport, color: Bool, to sink: any ReportSink) throws {
        var log = Self.log(for: report)
        guard log.runs[0].results.count > 0 else { return try sink.write(render(report, color: color)) }
        log.runs[0].results.streamed = true
        try JSONOutput.stream(log, array: log.runs[0].results, to: sink)
    }

    static func log(for report: ScanReport) -> Log<Run> {
        let indexes = report.ruleIndex
        let rules = report.rules.map { rule in
            ReportingDescriptor(
                id: rule.id, name: pascalName(rule.title),
                shortDescription: Message(text: rule.title),
                fullDescription: Message(text: rule.description.trimmingWhitespace().description),
                help: MultiformatMessage(text: rule.remediation.trimmingWhitespace().description,
                                         markdown: helpMarkdown(rule)),
                defaultConfiguration: ReportingConfiguration(level: rule.severity.sarifLevel),
                properties: RuleProperties(tags: ["security", rule.category.title, "RB-\(rule.category.rawValue)"],
                                           securitySeverity: rule.severity.securitySeverity,
                                           severity: rule.severity.rawValue, category: rule.category.rawValue,
                                           references: rule.references.isEmpty ? nil : rule.references,
                                           check: rule.checkIDs, manifest: rule.manifest?.id))
        }
        let shown = report.sarifOmitsWaived ? report.findings.filter { $0.waiver == nil && $0.baselineState != .absent } : report.findings
        let results = StreamedArray(count: shown.count) { i -> Result in
            let finding = shown[i]
            let target = report.targets[finding.targetIndex]
            let isEndpoint = target.kind == .endpoint
            let path = finding.location.path
            let artifact = ArtifactLocation(uri: isEndpoint ? path : (path.isEmpty ? "." : URIPath.encode(path)),
                                            uriBaseId: isEndpoint ? nil : target.baseID)
            let region = finding.location.line.map {
                Region(startLine: max(1, $0), startColumn: finding.location.column,
                       snippet: finding.evidence.snippet.map { ArtifactContent(text: $0) })
            }
            let facts = finding.evidence.facts.isEmpty ? nil : finding.evidence.facts
            return Result(
                ruleId: finding.ruleID, ruleIndex: indexes[finding.ruleID] ?? 0,
                kind: finding.status.sarifKind,
                level: finding.status == .fail ? finding.severity.sarifLevel : "none",
                message: Message(text: finding.message),
                locations: [ResultLocation(physicalLocation: PhysicalLocation(artifactLocation: artifact, region: region))],
                relatedLocations: finding.relatedLocations.map { related in
                    related.enumerated().map { k, location in
                        RelatedLocation(id: k + 1, physicalLocation: PhysicalLocation(
                            artifactLocation: ArtifactLocation(uri: isEndpoint ? location.path : (location.path.isEmpty ? "." : URIPath.encode(location.path)),
                                                               uriBaseId: isEndpoint ? nil : target.baseID),
                            region: location.line.map { Region(startLine: max(1, $0), startColumn: location.column, snippet: nil) }))
                    }
                },
                partialFingerprints: [fingerprintKey: finding.fingerprint],
                baselineState: finding.baselineState?.rawValue,
                suppressions: finding.waiver.map { waiver in
                    [Suppression(justification: waiver.justification,
                                 properties: SuppressionProperties(owner: waiver.owner, expires: waiver.expires, waiver: waiver.source))]
                },
                properties: ResultProperties(severity: finding.severity.rawValue, category: finding.category.rawValue,
                                             target: target.spec, targetName: target.label, evidenceKey: finding.evidence.key,
                                             evidenceState: Fingerprint.evidenceState(finding.evidence),
                                             snippet: finding.location.line == nil ? finding.evidence.snippet : nil, facts: facts))
        }
        var baseIDs: [String: ArtifactLocationBase] = [:]
        var artifacts: [Artifact] = []
        // Image targets: the image file, then each container down to the filesystem, linked by
        // parentIndex; several filesystems of one image share the artifacts of their common chain.
        var chainIndex: [String: Int] = [:]
        for target in report.targets where target.kind != .endpoint {
            // Every uriBaseId a result names is defined: with the directory's URI, or for a
            // filesystem inside an image (no host location) by its description alone.
            baseIDs[target.baseID] = ArtifactLocationBase(uri: target.baseURI, description: Message(text: target.label))
            var parent: Int?
            for (depth, label) in target.containers.dropLast().enumerated() {
                let key = target.containers[0...depth].joined(separator: "\u{0}")
                if let known = chainIndex[key] {
                    parent = known
                    continue
                }
                let location = depth == 0 ? ArtifactLocation(uri: URIPath.encode(label), uriBaseId: nil) : nil
                artifacts.append(Artifact(location: location, parentIndex: parent, offset: ContainerLabel.offset(label),
                                          description: Message(text: label), roles: depth == 0 ? ["analysisTarget"] : nil,
                                          properties: ArtifactProperties(kind: depth == 0 ? "image" : "container",
                                                                         containers: nil, format: depth == 0 ? nil : ContainerLabel.format(label))))
                chainIndex[key] = artifacts.count - 1
                parent = artifacts.count - 1
            }
            artifacts.append(Artifact(location: ArtifactLocation(uri: ".", uriBaseId: target.baseID), parentIndex: parent,
                                      offset: target.containers.last.flatMap(ContainerLabel.offset),
                                      description: Message(text: target.label),
                                      roles: ["analysisTarget"],
                                      properties: ArtifactProperties(kind: target.kind.rawValue,
                                                                     containers: target.containers.isEmpty ? nil : target.containers,
                                                                     format: target.containers.last.map(ContainerLabel.format))))
        }
        for target in report.targets where target.kind == .endpoint {
            artifacts.append(Artifact(location: ArtifactLocation(uri: target.spec, uriBaseId: nil), parentIndex: nil, offset: nil,
                                      description: Message(text: target.label), roles: ["analysisTarget"],
                                      properties: ArtifactProperties(kind: target.kind.rawValue, containers: nil, format: nil)))
        }
        let notifications = report.diagnostics.map { diagnostic in
            Notification(level: diagnostic.level.rawValue, message: Message(text: diagnostic.description),
                         descriptor: ReportingDescriptorReference(id: diagnostic.code),
                         associatedRule: diagnostic.ruleID.flatMap { id in indexes[id].map { ReportingDescriptorReference(id: id, index: $0) } })
        }
        let status = report.exitStatus
        let invocation = Invocation(executionSuccessful: status == .ok || status == .gateFailed,
                                    exitCode: Int(status.rawValue), commandLine: report.commandLine,
                                    startTimeUtc: report.startTime, endTimeUtc: report.endTime,
                                    toolExecutionNotifications: notifications.isEmpty ? nil : notifications)
        let driver = ToolComponent(name: "rbscan", version: RBScanVersion.current, semanticVersion: RBScanVersion.current,
                                   informationUri: RBScanVersion.informationURI, rules: rules)
        // The rule packs (manifests) the rules came from, each a tool extension with its version.
        var extensions: [ToolExtension] = []
        for reference in report.rules.compactMap(\.manifest) where !extensions.contains(where: { $0.name == reference.id }) {
            extensions.append(ToolExtension(name: reference.id, version: reference.version, semanticVersion: reference.version))
        }
        let run = Run(tool: Tool(driver: driver, extensions: extensions.isEmpty ? nil : extensions), invocations: [invocation],
                      originalUriBaseIds: baseIDs.isEmpty ? nil : baseIDs, artifacts: artifacts, results: results,
                      properties: RunProperties(baseline: report.baselineID, failOn: report.gate.description))
        return Log(schema: schemaURI, version: "2.1.0", runs: [run])
    }

    static func pascalName(_ title: String) -> String {
        title.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func helpMarkdown(_ rule: Rule) -> String {
        var text = "**\(rule.id): \(rule.title)**\n\n\(rule.remediation.trimmingWhitespace())"
        if let rationale = rule.rationale { text += "\n\n*Why:* \(rationale.trimmingWhitespace())" }
        if !rule.references.isEmpty { text += "\n\nReferences: " + rule.references.joined(separator: "; ") }
        return text
    }

    // MARK: SARIF objects

    /// The SARIF log; `Run` is the run object of the profile (complete or GitHub's).
    struct Log<Run: Encodable>: Encodable {
        var schema: String
        var version: String
        var runs: [Run]
        enum CodingKeys: String, CodingKey { case schema = "$schema", version, runs }
    }
    struct Run: Encodable {
        var tool: Tool
        var invocations: [Invocation]
        var originalUriBaseIds: [String: ArtifactLocationBase]?
        var artifacts: [Artifact]
        var results: StreamedArray<Result>
        var properties: RunProperties
    }
    struct RunProperties: Encodable { var baseline: String; var failOn: String }
    struct Tool: Encodable {
        var driver: ToolComponent<ReportingDescriptor>
        var extensions: [ToolExtension]?
    }
    /// `tool.extensions[]`: a rule pack with a manifest; its rules stay in the driver's list
    /// (ruleIndex points there) and name it in their `manifest` property.
    struct ToolExtension: Encodable {
        var name: String
        var version: String
        var semanticVersion: String
    }
    /// `tool.driver`; `Descriptor` is the rule descriptor of the profile (complete or GitHub's).
    struct ToolComponent<Descriptor: Encodable>: Encodable {
        var name: String
        var version: String
        var semanticVersion: String
        var informationUri: String
        var rules: [Descriptor]
    }
    struct ReportingDescriptor: Encodable {
        var id: String
        var name: String
        var shortDescription: Message
        var fullDescription: Message
        var help: MultiformatMessage
        var defaultConfiguration: ReportingConfiguration
        var properties: RuleProperties
    }
    struct RuleProperties: Encodable {
        var tags: [String]
        var securitySeverity: String
        var severity: String
        var category: String
        var references: [String]?
        var check: String
        /// The id of the pack manifest the rule comes from (a `tool.extensions` name).
        var manifest: String?
        enum CodingKeys: String, CodingKey {
            case tags, securitySeverity = "security-severity", severity, category, references, check, manifest
        }
    }
    struct ReportingConfiguration: Encodable { var level: String }
    struct Message: Encodable { var text: String }
    struct MultiformatMessage: Encodable { var text: String; var markdown: String }
    struct Invocation: Encodable {
        var executionSuccessful: Bool
        var exitCode: Int
        var commandLine: String?
        var startTimeUtc: String?
        var endTimeUtc: String?
        var toolExecutionNotifications: [Notification]?
    }
    struct Notification: Encodable {
        var level: String
        var message: Message
        var descriptor: ReportingDescriptorReference
        var associatedRule: ReportingDescriptorReference?
    }
    struct ReportingDescriptorReference: Encodable {
        var id: String
        var index: Int?
    }
    struct ArtifactLocationBase: Encodable { var uri: String?; var description: Message }
    struct Artifact: Encodable {
        var location: ArtifactLocation?
        var parentIndex: Int?
        /// Byte offset of a container in its parent.
        var offset: Int?
        var description: Message
        var roles: [String]?
        var properties: ArtifactProperties
    }
    struct ArtifactProperties: Encodable { var kind: String; var containers: [String]?; var format: String? }
    struct ArtifactLocation: Encodable { var uri: String; var uriBaseId: String? }
    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int
        var kind: String
        var level: String
        var message: Message
        var locations: [ResultLocation]
        var relatedLocations: [RelatedLocation]?
        var partialFingerprints: [String: String]
        var baselineState: String?
        var suppressions: [Suppression]?
        var properties: ResultProperties
    }
    /// A waiver (`--waivers`): accepted outside the code, with its justification.
    struct Suppression: Encodable {
        var kind = "external"
        var status = "accepted"
        var justification: String
        var properties: SuppressionProperties
    }
    struct SuppressionProperties: Encodable { var owner: String?; var expires: String; var waiver: String }
    struct ResultProperties: Encodable {
        var severity: String
        var category: String
        /// The target as given, container chain included (what `--compare` and `merge` match on).
        var target: String
        /// The target's name in every report: its inventory name, else a short label.
        var targetName: String
        var evidenceKey: String
        /// What `--compare` checks to call a finding updated (`Fingerprint.evidenceState`).
        var evidenceState: String
        /// The evidence snippet of a result without a line (a result with one has it on its region).
        var snippet: String?
        var facts: [String: String]?
    }
    struct ResultLocation: Encodable { var physicalLocation: PhysicalLocation }
    struct RelatedLocation: Encodable { var id: Int; var physicalLocation: PhysicalLocation }
    struct PhysicalLocation: Encodable { var artifactLocation: ArtifactLocation; var region: Region? }
    struct Region: Encodable { var startLine: Int; var startColumn: Int?; var snippet: ArtifactContent? }
    struct ArtifactContent: Encodable { var text: String }
}

extension FindingStatus {
    var sarifKind: String {
        switch self {
        case .fail: "fail"
        case .review: "review"
        case .notApplicable: "notApplicable"
        }
    }
}

/// Container chain labels are `format@0xOFFSET` (`squashfs@0x200040`).
enum ContainerLabel {
    static func offset(_ label: String) -> Int? {
        guard let at = label.lastIndex(of: "@") else { return nil }
        let hex = label[label.index(after: at)...]
        guard hex.hasPrefix("0x") else { return nil }
        return Int(hex.dropFirst(2), radix: 16)
    }

    static func format(_ label: String) -> String {
        label.lastIndex(of: "@").map { String(label[..<$0]) } ?? label
    }
}
