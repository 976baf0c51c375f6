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

/// The fleet side of RB-TLS-009 and RB-PWD-007, over every target of a report (one run with
/// many targets, or the merge of sharded runs): the same TLS or SSH key served by more than one
/// device, and the same password hash (salt included) in more than one image, fail on each
/// target concerned. A device is an inventory name, else an endpoint's host, else an image. Findings carry an evidence key `fleet:…`; applying again (after a merge)
/// replaces them, so the result does not depend on how the fleet was split.
public enum FleetRules {
    public static let tlsRule = "RB-TLS-009"
    public static let passwordRule = "RB-PWD-007"
    public static let signingRule = "RB-PKG-006"

    /// `available`: the baseline's rules, so that a fleet rule that ran on no target (an
    /// endpoint-only fleet) still reports; without them, the report's own rules.
    public static func apply(to report: inout ScanReport, available: [Rule] = []) {
        report.findings.removeAll { $0.evidence.key.hasPrefix("fleet:") }
        var rules = Dictionary(report.rules.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for rule in available where [tlsRule, passwordRule, signingRule].contains(rule.id) && rules[rule.id] == nil && rule.enabled
            && report.targets.contains(where: { $0.fleet.map { !$0.isEmpty } ?? false }) {
            rules[rule.id] = rule
            report.rules = (report.rules + [rule]).sorted { $0.id < $1.id }
        }
        var added: [Finding] = []
        func specs(_ indexes: Set<Int>) -> [String] { indexes.map { report.targets[$0].spec }.sorted() }

        if let rule = rules[tlsRule] {
            for (kind, keys) in [("TLS", \FleetFacts.tlsKeys), ("SSH host", \FleetFacts.sshHostKeys)] {
                var holders: [String: Set<Int>] = [:]
                for (i, target) in report.targets.enumerated() {
                    for key in Set(target.fleet?[keyPath: keys] ?? []) { holders[key, default: []].insert(i) }
                }
                for (key, targets) in holders where Set(targets.map { device(report.targets[$0]) }).count > 1 {
                    for i in targets {
                        let others = specs(targets.filter { device(report.targets[$0]) != device(report.targets[i]) })
                        added.append(Finding(ruleID: rule.id, status: .fail, severity: rule.severity, category: rule.category,
                            message: "the \(kind) key \(key.prefix(16))… is also used by \(others.count) other device(s): \(others.joined(separator: ", ")); keys are not unique per device",
                            targetIndex: i, location: Location(path: report.targets[i].kind == .endpoint ? report.targets[i].spec : "."),
                            evidence: Evidence(key: "fleet:\(kind == "TLS" ? "tls" : "ssh"):\(key)",
                                               facts: ["key": key, "devices": String(targets.count), "sharedWith": others.joined(separator: ", ")])))
                    }
                }
            }
        }
        if let rule = rules[passwordRule] {
            // Digests are compared only between targets whose HMAC key is the same.
            var holders: [String: [Int: FleetFacts.PasswordHashFact]] = [:]
            var shareable = Set<String>()
            for (i, target) in report.targets.enumerated() {
                guard let fleet = target.fleet else { continue }
                for fact in fleet.passwordHashes {
                    let id = (fleet.passwordKey ?? "") + ":" + fact.digest
                    if fleet.passwordKeyIsUsers == true { shareable.insert(id) }
                    if holders[id]?[i] == nil { holders[id, default: [:]][i] = fact }
                }
            }
            let withheld = report.targets.filter { ($0.fleet?.passwordHashesWithheld ?? 0) > 0 }.count
            if withheld > 0 {
                report.diagnostics.append(Diagnostic(.note, .check, code: "fleet.password-digests-withheld",
                    "\(withheld) target(s) were scanned without a secret key, so their password hashes were compared only within their own run: give every run the same --secret-key-file (or RBSCAN_SECRET_KEY) to find a password reused across reports",
                    rule: rule.id))
            }
            for (id, byTarget) in holders where Set(byTarget.keys.map { device(report.targets[$0]) }).count > 1 {
                // The digest is named only under the user's key (stable, and not reversible).
                let digest = shareable.contains(id) ? String(id.split(separator: ":").last ?? "") : nil
                for (i, fact) in byTarget {
                    let others = specs(Set(byTarget.keys).filter { device(report.targets[$0]) != device(report.targets[i]) })
                    added.append(Finding(ruleID: rule.id, status: .fail, severity: rule.severity, category: rule.category,
                        message: "account '\(fact.account)' has the same password hash as in \(others.count) other image(s)/device(s): \(others.joined(separator: ", ")); a universal password",
                        targetIndex: i, location: Location(path: fact.file, line: fact.line),
                        evidence: Evidence(key: "fleet:password:\(fact.account)" + (digest.map { ":" + $0 } ?? ""),
                                           facts: ["account": fact.account, "hashHMAC": digest ?? "", "devices": String(byTarget.count),
                                                   "sharedWith": others.joined(separator: ", ")].filter { !$0.value.isEmpty })))
                }
            }
        }
        // RB-PKG-006: a debug and a release image (by inventory tag, else by name) trusting the
        // same update or boot key: a debug build signed with it is accepted by release devices.
        if let rule = rules[signingRule] {
            var trusting: [String: [Int: String]] = [:]
            for (i, target) in report.targets.enumerated() {
                for fact in target.fleet?.trustedKeys ?? [] where trusting[fact.key]?[i] == nil { trusting[fact.key, default: [:]][i] = fact.source }
            }
            for (key, byTarget) in trusting {
                let release = byTarget.keys.filter { build(of: report.targets[$0]) == "release" }
                for i in byTarget.keys where build(of: report.targets[i]) == "debug" && !release.isEmpty {
                    let others = specs(Set(release))
                    added.append(Finding(ruleID: rule.id, status: .review, severity: .medium, category: rule.category,
                        message: "debug image \(report.targets[i].name ?? report.targets[i].spec) trusts the same signing key (\(byTarget[i] ?? "")) as release image(s) \(others.joined(separator: ", ")): use separate debug and release keys",
                        targetIndex: i, location: Location(path: byTarget[i] ?? "."),
                        evidence: Evidence(key: "fleet:signing:\(key)", facts: ["key": key, "release": others.joined(separator: ", ")])))
                }
            }
        }
        report.findings = (report.findings + added).sorted(by: Finding.deterministicOrder)
    }

    /// Which device a target is: its inventory name, else the host of an endpoint (the TLS and
    /// HTTPS services of one camera are one device), else the target itself (an image).
    static func device(_ target: ScanTarget) -> String {
        if let name = target.name { return "name:" + name }
        if target.kind == .endpoint, let host = target.endpoint?.host ?? Endpoint(parsing: target.spec)?.host { return "host:" + host }
        return "target:" + target.spec
    }

    /// `debug` or `release` for a target, from its inventory tags, else its name or spec.
    static func build(of target: ScanTarget) -> String? {
        let tags = Set(target.tags.map { $0.lowercased() })
        if tags.contains("debug") { return "debug" }
        if tags.contains("release") || tags.contains("production") { return "release" }
        let name = (target.name ?? target.spec).lowercased()
        if name.contains("debug") || name.contains("dbg") { return "debug" }
        if name.contains("release") || name.contains("prod") { return "release" }
        return nil
    }
}
