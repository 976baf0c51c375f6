/// rbscan's version, reported in every output.
public enum RBScanVersion {
    public static let current = "0.1.0"
    public static let informationURI = "https://github.com/rbscan/rbscan"
}

/// The exit codes (a contract, see DESIGN.md), decided in one place: `ExitStatus.decide`.
public enum ExitStatus: Int32, Codable, Sendable {
    /// No failing finding at or above the gate.
    case ok = 0
    /// The gate failed.
    case gateFailed = 1
    /// Usage error, invalid rule/baseline file, or no target could be read or reached.
    case usage = 2
    /// The scan ran but some targets or checks could not be examined (listed in the output).
    case incomplete = 3

    /// The precedence (README, "Exit codes"):
    /// 1. **2** when the configuration (rules, baseline, waivers, …) is invalid, or when nothing
    ///    could be scanned (every target failed);
    /// 2. **1** when the gate failed, even if other targets or checks could not be examined: a
    ///    pipeline must never mistake a failing gate for a tooling problem (the text says both);
    /// 3. **3** when some target or check could not be examined (an unreachable device among
    ///    500, a corrupt part of an image): the rest was judged and is in every report;
    /// 4. **0** otherwise.
    public static func decide(gatingFindings: Int, diagnostics: [Diagnostic], scannedTargets: Int) -> ExitStatus {
        let errors = diagnostics.filter { $0.level == .error }
        if errors.contains(where: { $0.domain == .configuration }) { return .usage }
        if scannedTargets == 0, errors.contains(where: { $0.domain == .target }) { return .usage }
        if gatingFindings > 0 { return .gateFailed }
        return errors.isEmpty ? .ok : .incomplete
    }
}

/// Everything one run produced, handed to the reporters.
public struct ScanReport: Sendable {
    public var targets: [ScanTarget]
    /// The rules that ran, sorted by ID; a finding's rule index is its position here.
    public var rules: [Rule]
    public var findings: [Finding]
    public var diagnostics: [Diagnostic]
    public var baselineID: String
    public var gate: GateThreshold
    /// ISO 8601 UTC start and end times; nil in golden tests.
    public var startTime: String?
    public var endTime: String?
    public var commandLine: String?

    public init(targets: [ScanTarget], rules: [Rule], findings: [Finding], diagnostics: [Diagnostic],
                baselineID: String, gate: GateThreshold, startTime: String? = nil, endTime: String? = nil,
                commandLine: String? = nil) {
        self.targets = targets
        self.rules = rules.sorted { $0.id < $1.id }
        self.findings = findings.sorted(by: Finding.deterministicOrder)
        self.diagnostics = diagnostics
        self.baselineID = baselineID
        self.gate = gate
        self.startTime = startTime
        self.endTime = endTime
        self.commandLine = commandLine
    }

    /// `--fail-on-new`: only findings new since the compared results count for the gate.
    public var failOnNew = false
    /// `--omit-waived`: the SARIF report leaves out waived and absent results (GitHub code
    /// scanning ignores `suppressions` and `baselineState`).
    public var sarifOmitsWaived = false

    /// The findings of this run (not the absent ones carried from compared results).
    public var current: [Finding] { findings.filter { $0.baselineState != .absent } }

    public var exitStatus: ExitStatus { ExitStatus.decide(gatingFindings: gatingFindings.count, diagnostics: diagnostics, scannedTargets: targets.count) }
    public var gatingFindings: [Finding] { findings.filter(gates) }
    /// Whether some target or check could not be examined (an error diagnostic), whatever the exit.
    public var isIncomplete: Bool { diagnostics.contains { $0.level == .error } }

    /// Whether `finding` counts for the gate: a failing result at or above the threshold, not
    /// waived, not absent (only in the compared results), and new when `failOnNew`.
    public func gates(_ finding: Finding) -> Bool {
        finding.status == .fail && gate.trips(finding.severity) && finding.waiver == nil && finding.baselineState != .absent
            && (!failOnNew || finding.baselineState == .new)
    }

    /// Position of each rule ID in `rules`.
    public var ruleIndex: [String: Int] {
        Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1.id, $0) })
    }
}
