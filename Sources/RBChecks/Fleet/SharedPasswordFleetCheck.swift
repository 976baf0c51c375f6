import RBCore

/// RB-PWD-007 across a fleet: the same password hash (salt included) in more than one image or
/// device is a universal password; it fails on each. Only HMAC digests made with one key are
/// compared, and a digest is named only under the user's key (stable, and not reversible).
public struct SharedPasswordFleetCheck: FleetCheck {
    public struct Options: Decodable, Sendable {
        public init() {}
    }

    public static let id = "fleet.shared-password-hashes"
    public static let summary = "The same password hash in more than one image or device of the fleet"

    public init(options: Options) {}

    public func judge(_ fleet: Fleet, rule: Rule, diagnostics: inout [Diagnostic]) -> [Finding] {
        var holders: [String: [Int: FleetFacts.PasswordHashFact]] = [:]
        var shareable = Set<String>()
        for (i, target) in fleet.targets.enumerated() {
            guard let facts = target.fleet else { continue }
            for fact in facts.passwordHashes {
                let id = (facts.passwordKey ?? "") + ":" + fact.digest
                if facts.passwordKeyIsUsers == true { shareable.insert(id) }
                if holders[id]?[i] == nil { holders[id, default: [:]][i] = fact }
            }
        }
        let withheld = fleet.targets.filter { ($0.fleet?.passwordHashesWithheld ?? 0) > 0 }.count
        if withheld > 0 {
            diagnostics.append(Diagnostic(.note, .check, code: "fleet.password-digests-withheld",
                "\(withheld) target(s) were scanned without a secret key, so their password hashes were compared only within their own run: give every run the same --secret-key-file (or RBSCAN_SECRET_KEY) to find a password reused across reports",
                rule: rule.id))
        }
        var findings: [Finding] = []
        for (id, byTarget) in holders where Set(byTarget.keys.map(fleet.device)).count > 1 {
            let digest = shareable.contains(id) ? String(id.split(separator: ":").last ?? "") : nil
            for (i, fact) in byTarget {
                let others = fleet.specs(byTarget.keys.filter { fleet.device($0) != fleet.device(i) })
                findings.append(Finding(ruleID: rule.id, status: .fail, severity: rule.severity, category: rule.category,
                    message: "account '\(fact.account)' has the same password hash as in \(others.count) other image(s)/device(s): \(others.joined(separator: ", ")); a universal password",
                    targetIndex: i, location: Location(path: fact.file, line: fact.line),
                    evidence: Evidence(key: "fleet:password:\(fact.account)" + (digest.map { ":" + $0 } ?? ""),
                                       facts: ["account": fact.account, "hashHMAC": digest ?? "", "devices": String(byTarget.count),
                                               "sharedWith": others.joined(separator: ", ")].filter { !$0.value.isEmpty })))
            }
        }
        return findings
    }
}
