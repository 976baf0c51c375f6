import RBChecks
import RBCore

// Stage 4 of a scan: the engine runs the selected rules' checks on every target; then the
// firmware targets get their components when a report wants them.
extension ScanSession {
    static func runChecks(on targets: inout [ScanTarget], _ configuration: Configuration, _ options: Options) async -> Engine.Outcome {
        for i in targets.indices { targets[i].adapters = configuration.adapters }
        let engine = Engine(rules: configuration.rules, jobs: options.jobs, limits: options.limits, progress: options.progress)
        let outcome = await engine.scan(targets)
        // The SBOM when a report wants it: each firmware target's components (shared with
        // RB-PKG-004 when it ran).
        for i in targets.indices where targets[i].kind == .firmware && targets[i].tree != nil {
            if options.components {
                let context = CheckContext(target: targets[i], limits: options.limits, ruleID: "", sink: DiagnosticSink())
                targets[i].components = ComponentInventory.of(context).components
            } else if options.componentsIfBuilt {
                // Free when the package rules ran: the JSON report keeps them for `rbscan merge`.
                targets[i].components = ComponentInventory.ifBuilt(targets[i])?.components
            }
        }
        return outcome
    }
}
