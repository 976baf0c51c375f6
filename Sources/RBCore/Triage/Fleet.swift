/// What the fleet rules compare across targets: digests only, never a secret.
public struct FleetFacts: Codable, Hashable, Sendable {
    /// SPKI SHA-256 of the TLS leaf certificate an endpoint serves.
    public var tlsKeys: [String]
    /// SHA-256 fingerprints of the SSH host keys an endpoint offers.
    public var sshHostKeys: [String]
    /// Accounts with a real password hash: an HMAC-SHA256 of the hash string (salt included),
    /// never a plain digest (unsalted and DES hashes would be reversible with a word list).
    public var passwordHashes: [PasswordHashFact]
    /// The key ID (`SecretDigest.keyID`) of the HMAC key `passwordHashes` were made with: only
    /// digests made with one key are compared.
    public var passwordKey: String?
    /// Whether that key is the user's (`--secret-key-file`, `RBSCAN_SECRET_KEY`): only then may
    /// the digests be written to a report, for `rbscan merge` to compare across shards.
    public var passwordKeyIsUsers: Bool?
    /// In a report: how many password digests were left out because no user key made them
    /// (so `rbscan merge` can say that reuse across reports was not compared).
    public var passwordHashesWithheld: Int?
    /// The keys an image trusts for updates and boot (SPKI SHA-256, `usign:KEYNUM`), with the
    /// file each came from: a debug and a release image trusting one key share their signer.
    public var trustedKeys: [TrustedKeyFact]?

    public struct TrustedKeyFact: Codable, Hashable, Sendable {
        public var key: String
        public var source: String

        public init(key: String, source: String) {
            self.key = key
            self.source = source
        }
    }

    public struct PasswordHashFact: Codable, Hashable, Sendable {
        public var account: String
        public var digest: String
        public var file: String
        public var line: Int

        public init(account: String, digest: String, file: String, line: Int) {
            self.account = account
            self.digest = digest
            self.file = file
            self.line = line
        }
    }

    public init(tlsKeys: [String] = [], sshHostKeys: [String] = [], passwordHashes: [PasswordHashFact] = []) {
        self.tlsKeys = tlsKeys
        self.sshHostKeys = sshHostKeys
        self.passwordHashes = passwordHashes
    }

    public var isEmpty: Bool { tlsKeys.isEmpty && sshHostKeys.isEmpty && passwordHashes.isEmpty && (trustedKeys ?? []).isEmpty }

    /// What may be written to a report: password digests only under the user's key.
    public var forReport: FleetFacts {
        guard passwordKeyIsUsers != true else { return self }
        var copy = self
        copy.passwordHashesWithheld = passwordHashes.isEmpty ? nil : passwordHashes.count
        copy.passwordHashes = []
        copy.passwordKey = nil
        copy.passwordKeyIsUsers = nil
        return copy
    }
}

/// A check over every target of a run (or of a merge of sharded runs) at once: the same key on
/// several devices, one password hash in several images. It is registered with the other checks
/// (`BuiltinChecks.all`) and bound to rules the same way, on target kind `fleet`
/// (`checks: [{check: fleet.shared-keys, targets: [fleet]}]`); the session runs it after every
/// target's checks, over the targets' `FleetFacts` (digests only, never a secret).
///
/// Its findings name their target by index and carry an evidence key starting `fleet:`: applying
/// the fleet checks again (after `rbscan merge`) replaces them, so the result does not depend
/// on how the fleet was split.
public protocol FleetCheck: Check {
    /// The findings of `rule` across `fleet`; notes about what could not be compared go to
    /// `diagnostics`.
    func judge(_ fleet: Fleet, rule: Rule, diagnostics: inout [Diagnostic]) -> [Finding]
}

extension FleetCheck {
    public static var targetKinds: Set<TargetKind> { [.fleet] }

    /// Never called: no target is of kind `fleet` (the engine runs a rule's implementations
    /// on the targets of their kinds); the session calls `judge` instead.
    public func run(in context: CheckContext) async throws -> [Observation] {
        throw FleetCheckError(id: Self.id)
    }
}

struct FleetCheckError: Error, CustomStringConvertible {
    var id: String
    var description: String { "\(id) is a fleet check: it judges every target at once, not one target" }
}

/// What fleet checks look at: every target of the report with its facts.
public struct Fleet: Sendable {
    public let targets: [ScanTarget]

    public init(targets: [ScanTarget]) { self.targets = targets }

    /// Which device target `i` is: its inventory name, else the host of an endpoint (the TLS and
    /// HTTPS services of one camera are one device), else the target itself (an image).
    public func device(_ i: Int) -> String {
        let target = targets[i]
        if let name = target.name { return "name:" + name }
        if target.kind == .endpoint, let host = target.endpoint?.host ?? Endpoint(parsing: target.spec)?.host { return "host:" + host }
        return "target:" + target.spec
    }

    /// `debug` or `release` for target `i`, from its inventory tags, else its name or spec.
    public func build(_ i: Int) -> String? {
        let target = targets[i]
        let tags = Set(target.tags.map { $0.lowercased() })
        if tags.contains("debug") { return "debug" }
        if tags.contains("release") || tags.contains("production") { return "release" }
        let name = (target.name ?? target.spec).lowercased()
        if name.contains("debug") || name.contains("dbg") { return "debug" }
        if name.contains("release") || name.contains("prod") { return "release" }
        return nil
    }

    /// The specs of the targets `indexes`, sorted.
    public func specs(_ indexes: some Sequence<Int>) -> [String] { indexes.map { targets[$0].spec }.sorted() }
}

/// Runs the fleet checks of a report's rules over its targets.
public enum FleetRules {
    /// Fleet checks of rules written by an rbscan from before fleet checks were bound in the
    /// rule files (its reports name only the per-target check): what `rbscan merge` applies
    /// to such reports.
    static let legacy = ["RB-TLS-009": "fleet.shared-keys", "RB-PWD-007": "fleet.shared-password-hashes",
                         "RB-PKG-006": "fleet.debug-release-keys"]

    /// `available`: the baseline's rules, so that a fleet rule that ran on no target (an
    /// endpoint-only fleet) still reports. `registry`: builds the fleet checks of rules read
    /// back from reports (`rbscan merge`), whose implementations are only named.
    public static func apply(to report: inout ScanReport, available: [Rule] = [], registry: CheckRegistry? = nil) {
        report.findings.removeAll { $0.evidence.key.hasPrefix("fleet:") }
        // A fleet: several targets, or digests to compare. A rule bound to a fleet check alone
        // (one that reads what it needs itself) runs on any run of several targets.
        let isFleet = report.targets.count > 1 || report.targets.contains { $0.fleet.map { !$0.isEmpty } ?? false }
        var rules = Dictionary(report.rules.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for rule in available where rules[rule.id] == nil && rule.enabled && isFleet && !fleetChecks(of: rule, registry).isEmpty {
            rules[rule.id] = rule
            report.rules = (report.rules + [rule]).sorted { $0.id < $1.id }
        }
        let fleet = Fleet(targets: report.targets)
        var added: [Finding] = []
        for rule in rules.values.sorted(by: { $0.id < $1.id }) {
            for check in fleetChecks(of: rule, registry) {
                added += check.judge(fleet, rule: rule, diagnostics: &report.diagnostics)
            }
        }
        report.findings = (report.findings + added).sorted(by: Finding.deterministicOrder)
    }

    /// The fleet checks bound to `rule`: its implementations on kind `fleet` (built from the
    /// registry when the rule came from a report).
    static func fleetChecks(of rule: Rule, _ registry: CheckRegistry?) -> [any FleetCheck] {
        var checks: [any FleetCheck] = []
        var ids = Set<String>()
        for implementation in rule.implementations where implementation.targets.contains(.fleet) {
            if let check = implementation.check as? any FleetCheck {
                checks.append(check)
            } else if let check = registry.flatMap({ build(implementation.checkID, $0) }) {
                checks.append(check)
            }
            ids.insert(implementation.checkID)
        }
        if let id = legacy[rule.id], !ids.contains(id), checks.isEmpty, let registry, let check = build(id, registry) {
            checks.append(check)
        }
        return checks
    }

    private static func build(_ id: String, _ registry: CheckRegistry) -> (any FleetCheck)? {
        guard registry.type(for: id) is any FleetCheck.Type else { return nil }
        return (try? registry.instantiate(id, options: nil, decoder: NodeDecoder(file: "fleet"))) as? any FleetCheck
    }
}
