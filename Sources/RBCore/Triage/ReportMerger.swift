/// Merges reports (the shards of a fleet scan, or scans of several releases) into one: targets
/// concatenated, a target given in several reports kept once (its findings de-duplicated by
/// fingerprint), rules united, diagnostics kept; the fleet rules are then applied again over
/// every target, so sharded and unsharded runs agree.
public enum ReportMerger {
    /// `registry`: the checks that build the fleet checks the reports' rules name.
    public static func merge(_ reports: [ScanReport], gate: GateThreshold? = nil, registry: CheckRegistry? = nil) -> ScanReport {
        var targets: [ScanTarget] = []
        var targetIndex: [String: Int] = [:]
        var rules: [String: Rule] = [:]
        var findings: [Finding] = []
        var seen = Set<String>()
        var diagnostics: [Diagnostic] = []
        var seenDiagnostics = Set<Diagnostic>()
        for report in reports {
            var remap: [Int: Int] = [:]
            for (i, target) in report.targets.enumerated() {
                let key = target.kind.rawValue + " " + target.spec
                if let existing = targetIndex[key] {
                    remap[i] = existing
                    if targets[existing].fleet == nil { targets[existing].fleet = target.fleet }
                } else {
                    remap[i] = targets.count
                    targetIndex[key] = targets.count
                    var copy = target
                    // Base IDs must stay unique across the merged targets (SARIF uriBaseId).
                    if targets.contains(where: { $0.baseID == copy.baseID }) { copy.baseID += "_\(targets.count)" }
                    targets.append(copy)
                }
            }
            for rule in report.rules where rules[rule.id] == nil { rules[rule.id] = rule }
            for var finding in report.findings {
                finding.targetIndex = remap[finding.targetIndex] ?? 0
                guard seen.insert("\(finding.targetIndex) \(finding.fingerprint)").inserted else { continue }
                findings.append(finding)
            }
            for diagnostic in report.diagnostics where seenDiagnostics.insert(diagnostic).inserted { diagnostics.append(diagnostic) }
        }
        let baselines = Set(reports.map(\.baselineID))
        if baselines.count > 1 {
            diagnostics.append(Diagnostic(.warning, .configuration, code: "merge.baselines",
                                          "the merged reports used different baselines: \(baselines.sorted().joined(separator: ", "))"))
        }
        var merged = ScanReport(targets: targets, rules: Array(rules.values), findings: findings, diagnostics: diagnostics,
                                baselineID: reports.first?.baselineID ?? "none", gate: gate ?? reports.first?.gate ?? .severity(.high),
                                startTime: reports.compactMap(\.startTime).min(), endTime: reports.compactMap(\.endTime).max())
        FleetRules.apply(to: &merged, registry: registry)
        return merged
    }
}
