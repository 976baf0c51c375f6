import RBCore

/// RB-TLS-009 across a fleet: the same TLS leaf key (SPKI SHA-256) or SSH host key served by more
/// than one device fails on each of them.
public struct SharedKeyFleetCheck: FleetCheck {
    public struct Options: Decodable, Sendable {
        public init() {}
    }

    public static let id = "fleet.shared-keys"
    public static let summary = "The same TLS or SSH host key on more than one device of the fleet"

    public init(options: Options) {}

    public func judge(_ fleet: Fleet, rule: Rule, diagnostics: inout [Diagnostic]) -> [Finding] {
        var findings: [Finding] = []
        for (kind, keys) in [("TLS", \FleetFacts.tlsKeys), ("SSH host", \FleetFacts.sshHostKeys)] {
            var holders: [String: Set<Int>] = [:]
            for (i, target) in fleet.targets.enumerated() {
                for key in Set(target.fleet?[keyPath: keys] ?? []) { holders[key, default: []].insert(i) }
            }
            for (key, targets) in holders where Set(targets.map(fleet.device)).count > 1 {
                for i in targets {
                    let others = fleet.specs(targets.filter { fleet.device($0) != fleet.device(i) })
                    let target = fleet.targets[i]
                    findings.append(Finding(ruleID: rule.id, status: .fail, severity: rule.severity, category: rule.category,
                        message: "the \(kind) key \(key.prefix(16))… is also used by \(others.count) other device(s): \(others.joined(separator: ", ")); keys are not unique per device",
                        targetIndex: i, location: Location(path: target.kind == .endpoint ? target.spec : "."),
                        evidence: Evidence(key: "fleet:\(kind == "TLS" ? "tls" : "ssh"):\(key)",
                                           facts: ["key": key, "devices": String(targets.count), "sharedWith": others.joined(separator: ", ")])))
                }
            }
        }
        return findings
    }
}
