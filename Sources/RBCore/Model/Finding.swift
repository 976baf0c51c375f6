/// What a rule concluded about one thing in a target.
public enum FindingStatus: String, Codable, Sendable {
    /// The rule fails: this counts for the gate.
    case fail
    /// The scanner cannot decide (MANUAL in the catalog); evidence is attached. Never gates.
    case review
    /// The rule cannot apply to this target (e.g. metadata lost). Never gates.
    case notApplicable
}

/// Where a finding is: a path inside the scanned root (relative, no leading slash), with a line
/// when one is known.
public struct Location: Hashable, Codable, Sendable {
    /// Path inside the image / root filesystem, `etc/shadow`; for a config-file target the file
    /// name; for an endpoint the endpoint URI.
    public var path: String
    public var line: Int?
    public var column: Int?

    public init(path: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.line = line
        self.column = column
    }
}

/// Evidence attached to a finding. Secrets are masked before they get here (`Mask`).
public struct Evidence: Hashable, Codable, Sendable {
    /// The identity of what was found, independent of line numbers: a key name, an account, a
    /// normalised matched text. It is part of the fingerprint.
    public var key: String
    /// A short excerpt (the offending line, masked), for humans.
    public var snippet: String?
    /// Named facts (`mode: 4755`, `uid: 0`, `value: 0`), sorted by name in every output.
    public var facts: [String: String]

    public init(key: String, snippet: String? = nil, facts: [String: String] = [:]) {
        self.key = key
        self.snippet = snippet
        self.facts = facts
    }

    /// Facts that describe a finding's surroundings, not the finding: they change when something
    /// else in the image changes (one boot command fewer, a service started from another line,
    /// other examples of the same problem, another number of login attempts), so they never make
    /// a compared finding `updated` (`Fingerprint.evidenceState`). Checks name such facts with
    /// these names; every other fact is evidence.
    public static let contextFacts: Set<String> = ["bootCommands", "startedAt", "examples", "sample", "attempts", "line", "column"]
}

/// What a check reports; the engine turns it into a `Finding` by adding the rule's metadata.
/// Checks know nothing of rule IDs, so several rules can share one check.
public struct Observation: Hashable, Sendable {
    public var status: FindingStatus
    /// Overrides the rule's severity for this one result (e.g. a conditional start is lower).
    public var severity: Severity?
    public var message: String
    public var location: Location
    public var evidence: Evidence

    public init(status: FindingStatus = .fail, severity: Severity? = nil, message: String,
                location: Location, evidence: Evidence) {
        self.status = status
        self.severity = severity
        self.message = message
        self.location = location
        self.evidence = evidence
    }
}

/// One result of one rule on one target.
public struct Finding: Hashable, Codable, Sendable {
    public var ruleID: String
    public var status: FindingStatus
    public var severity: Severity
    public var category: Category
    public var message: String
    /// Index into the scan's target list.
    public var targetIndex: Int
    public var location: Location
    public var evidence: Evidence
    /// Stable across runs and image rebuilds: rule + path + evidence key, never lines or times.
    public var fingerprint: String
    /// The waiver that accepts this finding (`--waivers`): it stays visible, out of the gate.
    public var waiver: AppliedWaiver?
    /// Against `--compare` results: new, unchanged, updated, or absent (only in the previous run).
    public var baselineState: BaselineState?
    /// The other places of a grouped result (a rule's review results on one target are one
    /// result: SARIF `relatedLocations`).
    public var relatedLocations: [Location]?

    public init(ruleID: String, status: FindingStatus, severity: Severity, category: Category,
                message: String, targetIndex: Int, location: Location, evidence: Evidence) {
        self.ruleID = ruleID
        self.status = status
        self.severity = severity
        self.category = category
        self.message = message
        self.targetIndex = targetIndex
        self.location = location
        self.evidence = evidence
        self.fingerprint = Fingerprint.of(ruleID: ruleID, path: location.path, key: evidence.key)
    }

    /// The order every output uses: target, path, line, rule, message.
    public static func deterministicOrder(_ a: Finding, _ b: Finding) -> Bool {
        if a.targetIndex != b.targetIndex { return a.targetIndex < b.targetIndex }
        if a.location.path != b.location.path { return a.location.path < b.location.path }
        if (a.location.line ?? 0) != (b.location.line ?? 0) { return (a.location.line ?? 0) < (b.location.line ?? 0) }
        if a.ruleID != b.ruleID { return a.ruleID < b.ruleID }
        if a.message != b.message { return a.message < b.message }
        return a.fingerprint < b.fingerprint
    }
}
