import RBCore

/// RB-PKG-006 across a fleet: a debug and a release image (by inventory tag, else by name)
/// trusting the same update or boot key, so a debug build signed with it is accepted by release
/// devices. A review result: the key may be meant for both.
public struct DebugReleaseKeyFleetCheck: FleetCheck {
    public struct Options: Decodable, Sendable {
        public init() {}
    }

    public static let id = "fleet.debug-release-keys"
    public static let summary = "A debug and a release image of the fleet trusting the same signing key"

    public init(options: Options) {}

    public func judge(_ fleet: Fleet, rule: Rule, diagnostics: inout [Diagnostic]) -> [Finding] {
        var trusting: [String: [Int: String]] = [:]
        for (i, target) in fleet.targets.enumerated() {
            for fact in target.fleet?.trustedKeys ?? [] where trusting[fact.key]?[i] == nil { trusting[fact.key, default: [:]][i] = fact.source }
        }
        var findings: [Finding] = []
        for (key, byTarget) in trusting {
            let release = byTarget.keys.filter { fleet.build($0) == "release" }
            for i in byTarget.keys where fleet.build(i) == "debug" && !release.isEmpty {
                let others = fleet.specs(release)
                let target = fleet.targets[i]
                findings.append(Finding(ruleID: rule.id, status: .review, severity: .medium, category: rule.category,
                    message: "debug image \(target.name ?? target.spec) trusts the same signing key (\(byTarget[i] ?? "")) as release image(s) \(others.joined(separator: ", ")): use separate debug and release keys",
                    targetIndex: i, location: Location(path: byTarget[i] ?? "."),
                    evidence: Evidence(key: "fleet:signing:\(key)", facts: ["key": key, "release": others.joined(separator: ", ")])))
            }
        }
        return findings
    }
}
