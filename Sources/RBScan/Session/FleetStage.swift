import RBChecks
import RBCore

// Stage 5 of a scan: what the fleet checks compare across targets is collected from each
// target (digests only), then every rule with a fleet check judges the run's targets together.
extension ScanSession {
    static func applyFleetChecks(to report: inout ScanReport, _ configuration: Configuration, _ options: Options) {
        let fleetStart = ContinuousClock.now
        defer { Profiler.note("fleet facts", since: fleetStart) }
        for i in report.targets.indices {
            let context = CheckContext(target: report.targets[i], limits: options.limits, ruleID: "", sink: DiagnosticSink())
            let facts = FleetFactsCollector.collect(context)
            report.targets[i].fleet = facts.isEmpty ? nil : facts
        }
        FleetRules.apply(to: &report, available: configuration.rules)
    }
}
