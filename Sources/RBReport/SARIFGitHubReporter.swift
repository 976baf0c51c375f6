import Foundation
import RBCore

/// SARIF shaped for GitHub code scanning (`--format sarif-github`), following what GitHub
/// documents it reads ("SARIF support for code scanning", github/docs) and what
/// github/codeql-action's upload does (`src/fingerprints.ts`, `src/upload-lib.ts`):
///
/// - **Severity on the rule.** GitHub reads `security-severity` on the reporting descriptor, not
///   on the result. A finding whose severity differs from its rule's default (a bind shell raised
///   to critical) gets a descriptor of its own, `RB-IFC-001/critical`, with that severity.
/// - **One run per target** with `automationDetails.id` `rbscan/<target>/`: the same finding in
///   five images is five alerts, and one image's upload never closes another's. At most 20 runs
///   per file (GitHub rejects more).
/// - **Repository locations.** GitHub resolves `artifactLocation.uri` from the repository root
///   and ignores `uriBaseId`. A finding is placed on the repository file it came from when one of
///   the `--path-prefix` directories (a Buildroot `BR2_ROOTFS_OVERLAY`, a Yocto layer's files)
///   holds its image path, or when the target itself is a directory or config file inside the
///   repository; otherwise on the image file (the in-image path leads the message). Endpoints have
///   no file: their results sit on `rbscan-endpoints/<host>_<port>`.
/// - Every result has a region (its line, else 1) and `partialFingerprints.primaryLocationLineHash`
///   (the upload cannot compute one for files that are not in the checkout).
/// - Only results that can fail: `fail`, not waived, not absent (GitHub shows every uploaded
///   result as an open alert; it reads neither `kind` nor `suppressions`).
/// - Length limits: names ≤ 255 characters, short and full descriptions ≤ 1,024; ≤ 25,000
///   results per run.
///
/// `--format sarif` stays the complete record (every status, waivers, baseline states).
public struct SARIFGitHubReporter: Reporter {
    public static let name = "sarif-github"
    public static let fileExtensions = ["github.sarif"]
    public static let maxRuns = 20
    public static let maxResultsPerRun = 25_000
    public static let maxDescription = 1024
    public static let maxName = 255

    /// Repository directories whose files become the image root (`--path-prefix`), relative to
    /// `repositoryRoot`.
    public var pathPrefixes: [String]
    /// The repository's root (GitHub resolves URIs from it): the working directory by default.
    public var repositoryRoot: String

    public init() { self.init(pathPrefixes: []) }

    public init(pathPrefixes: [String], repositoryRoot: String = FileManager.default.currentDirectoryPath) {
        self.pathPrefixes = pathPrefixes.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.repositoryRoot = repositoryRoot.hasSuffix("/") ? String(repositoryRoot.dropLast()) : repositoryRoot
    }

    public struct LimitExceeded: Error, CustomStringConvertible {
        public var description: String
    }

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        try JSONOutput.encode(log(for: report))
    }

    func log(for report: ScanReport) throws -> SARIFReporter.Log<Run> {
        let rulesByID = Dictionary(report.rules.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let shown = report.findings.filter { $0.status == .fail && $0.waiver == nil && $0.baselineState != .absent }
        let byTarget = Dictionary(grouping: shown, by: \.targetIndex)
        let slugs = Self.slugs(report.targets)
        // Targets with results, and targets scanned clean (an empty run closes their old alerts).
        guard report.targets.count <= Self.maxRuns else {
            throw LimitExceeded(description: "GitHub accepts at most \(Self.maxRuns) runs per SARIF file and this report has \(report.targets.count) targets (one run each): "
                                + "write one file per shard (rbscan scan --inventory … --shard I/N) or per image")
        }
        let status = report.exitStatus
        var runs: [Run] = []
        for (t, target) in report.targets.enumerated() {
            let findings = byTarget[t] ?? []
            guard findings.count <= Self.maxResultsPerRun else {
                throw LimitExceeded(description: "GitHub accepts at most \(Self.maxResultsPerRun) results per run and target \(target.spec) has \(findings.count)")
            }
            var descriptors: [ReportingDescriptor] = []
            var descriptorIndex: [String: Int] = [:]
            var results: [Result] = []
            for finding in findings {
                guard let rule = rulesByID[finding.ruleID] else { continue }
                let id = finding.severity == rule.severity ? rule.id : "\(rule.id)/\(finding.severity.rawValue)"
                if descriptorIndex[id] == nil {
                    descriptorIndex[id] = descriptors.count
                    descriptors.append(Self.descriptor(rule, id: id, severity: finding.severity))
                }
                let place = location(of: finding, in: target, slug: slugs[t])
                var text = finding.message
                if let prefix = place.prefix { text = prefix + ": " + text }
                results.append(Result(
                    ruleId: id, ruleIndex: descriptorIndex[id]!, level: finding.severity.sarifLevel,
                    message: SARIFReporter.Message(text: text),
                    locations: [SARIFReporter.ResultLocation(physicalLocation: SARIFReporter.PhysicalLocation(
                        artifactLocation: SARIFReporter.ArtifactLocation(uri: place.uri, uriBaseId: nil),
                        region: SARIFReporter.Region(startLine: place.line, startColumn: nil, snippet: nil)))],
                    partialFingerprints: [
                        "primaryLocationLineHash": String(finding.fingerprint.prefix(16)) + ":1",
                        SARIFReporter.fingerprintKey: finding.fingerprint,
                    ],
                    properties: ResultProperties(severity: finding.severity.rawValue, category: finding.category.rawValue,
                                                 target: target.label, imagePath: finding.location.path,
                                                 securitySeverity: finding.severity == .info ? nil : finding.severity.securitySeverity)))
            }
            let driver = SARIFReporter.ToolComponent(name: "rbscan", version: RBScanVersion.current, semanticVersion: RBScanVersion.current,
                                       informationUri: RBScanVersion.informationURI, rules: descriptors)
            runs.append(Run(tool: Tool(driver: driver), automationDetails: AutomationDetails(id: "rbscan/\(slugs[t])/"),
                            invocations: [Invocation(executionSuccessful: status == .ok || status == .gateFailed, exitCode: Int(status.rawValue))],
                            results: results,
                            properties: RunProperties(target: target.spec, name: target.name, baseline: report.baselineID, failOn: report.gate.description)))
        }
        return SARIFReporter.Log(schema: SARIFReporter.schemaURI, version: "2.1.0", runs: runs)
    }

    /// Where a finding is shown in the repository: the URI, the line, and (when the finding is
    /// placed on the image file rather than its own) the in-image place for the message.
    func location(of finding: Finding, in target: ScanTarget, slug: String) -> (uri: String, line: Int, prefix: String?) {
        let path = finding.location.path
        let line = max(1, finding.location.line ?? 1)
        let place = (path.isEmpty ? "." : path) + (finding.location.line.map { ":\($0)" } ?? "")
        if target.kind == .endpoint {
            return ("rbscan-endpoints/" + URIPath.encode(slug), 1, place)
        }
        if !path.isEmpty, !path.contains("://") {
            for prefix in pathPrefixes {
                let candidate = prefix.isEmpty ? path : prefix + "/" + path
                if exists(candidate) { return (URIPath.encode(candidate), line, nil) }
            }
        }
        // The target's own file or directory, when it lies inside the repository.
        if target.containers.isEmpty, let base = target.baseURI.flatMap(Self.filePath) {
            if target.kind == .config, let file = repositoryRelative(base + (target.spec as NSString).lastPathComponent) {
                return (URIPath.encode(file), line, nil)
            }
            if target.kind != .config, let directory = repositoryRelative(String(base.dropLast())) {
                let candidate = path.isEmpty ? directory : directory + "/" + path
                if !path.isEmpty, exists(candidate) { return (URIPath.encode(candidate), line, nil) }
                return (URIPath.encode(directory.isEmpty ? "." : directory), 1, place)
            }
        }
        // An image: the image file, in the repository when it is there, else by its name.
        let image = target.containers.first ?? target.spec
        let artefact = repositoryRelative(Self.absolute(image)) ?? Self.safeRelative(image)
        return (URIPath.encode(artefact), 1, place)
    }

    func exists(_ relative: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: repositoryRoot + "/" + relative, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// `path` relative to the repository root, or nil when it lies outside.
    func repositoryRelative(_ path: String) -> String? {
        let absolute = Self.absolute(path)
        if absolute == repositoryRoot { return "" }
        guard absolute.hasPrefix(repositoryRoot + "/") else { return nil }
        return String(absolute.dropFirst(repositoryRoot.count + 1))
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }

    static func filePath(_ uri: String) -> String? {
        guard uri.hasPrefix("file://") else { return nil }
        let path = String(uri.dropFirst("file://".count))
        return path.removingPercentEncoding ?? path
    }

    /// A relative path GitHub accepts for a file outside the repository: no leading `/`, no `..`.
    static func safeRelative(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != ".." && $0 != "." }
        return parts.last.map(String.init) ?? "image"
    }

    /// One short, stable, distinct name per target: the inventory name, else the file or
    /// directory name (images: with the filesystem's format, never its offset, which moves
    /// between builds), else host_port for endpoints.
    static func slugs(_ targets: [ScanTarget]) -> [String] {
        var used: [String: Int] = [:]
        return targets.map { target in
            var base: String
            if let name = target.name {
                base = name
            } else if target.kind == .endpoint {
                base = target.spec.replacingOccurrences(of: "://", with: "_")
            } else if let image = target.containers.first {
                base = (image as NSString).lastPathComponent
                if let last = target.containers.last, target.containers.count > 1 { base += "_" + ContainerLabel.format(last) }
            } else {
                base = (target.spec as NSString).lastPathComponent
            }
            base = String(base.map { $0.isLetter || $0.isNumber || "._-@".contains($0) ? $0 : "_" })
            if base.isEmpty { base = "target" }
            used[base, default: 0] += 1
            return used[base]! == 1 ? base : "\(base)-\(used[base]!)"
        }
    }

    static func descriptor(_ rule: Rule, id: String, severity: Severity) -> ReportingDescriptor {
        ReportingDescriptor(
            id: id, name: String(SARIFReporter.pascalName(rule.title).prefix(maxName)),
            shortDescription: SARIFReporter.Message(text: clip(rule.title)),
            fullDescription: SARIFReporter.Message(text: clip(rule.description.trimmingWhitespace().description)),
            help: SARIFReporter.MultiformatMessage(text: rule.remediation.trimmingWhitespace().description,
                                                   markdown: SARIFReporter.helpMarkdown(rule)),
            defaultConfiguration: SARIFReporter.ReportingConfiguration(level: severity.sarifLevel),
            properties: RuleProperties(tags: (severity == .info ? [] : ["security"]) + [rule.category.title, "RB-\(rule.category.rawValue)"],
                                       securitySeverity: severity == .info ? nil : severity.securitySeverity,
                                       precision: "high", severity: severity.rawValue, category: rule.category.rawValue))
    }

    /// `text` within GitHub's 1,024 characters, cut at a word with an ellipsis.
    static func clip(_ text: String) -> String {
        guard text.count > maxDescription else { return text }
        let head = text.prefix(maxDescription - 1)
        let cut = head.lastIndex(of: " ").map { head[..<$0] } ?? head
        return cut + "…"
    }

    // MARK: SARIF objects (the subset GitHub reads)

    struct Run: Encodable {
        var tool: Tool
        var automationDetails: AutomationDetails
        var invocations: [Invocation]
        var results: [Result]
        var properties: RunProperties
    }
    struct AutomationDetails: Encodable { var id: String }
    struct RunProperties: Encodable { var target: String; var name: String?; var baseline: String; var failOn: String }
    struct Invocation: Encodable { var executionSuccessful: Bool; var exitCode: Int }
    struct Tool: Encodable { var driver: SARIFReporter.ToolComponent<ReportingDescriptor> }
    struct ReportingDescriptor: Encodable {
        var id: String
        var name: String
        var shortDescription: SARIFReporter.Message
        var fullDescription: SARIFReporter.Message
        var help: SARIFReporter.MultiformatMessage
        var defaultConfiguration: SARIFReporter.ReportingConfiguration
        var properties: RuleProperties
    }
    struct RuleProperties: Encodable {
        var tags: [String]
        var securitySeverity: String?
        var precision: String
        var severity: String
        var category: String
        enum CodingKeys: String, CodingKey {
            case tags, securitySeverity = "security-severity", precision, severity, category
        }
    }
    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int
        var level: String
        var message: SARIFReporter.Message
        var locations: [SARIFReporter.ResultLocation]
        var partialFingerprints: [String: String]
        var properties: ResultProperties
    }
    struct ResultProperties: Encodable {
        var severity: String
        var category: String
        var target: String
        var imagePath: String
        var securitySeverity: String?
        enum CodingKeys: String, CodingKey {
            case severity, category, target, imagePath, securitySeverity = "security-severity"
        }
    }
}
