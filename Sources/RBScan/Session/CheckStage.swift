import RBChecks
import RBCore

// Stage 4 of a scan: the engine runs the selected rules' checks on every target; then the
// firmware targets get their components when a report wants them.
extension ScanSession {
    static func runChecks(on targets: inout [ScanTarget], _ configuration: Configuration, _ options: Options) async -> Engine.Outcome {
        for i in targets.indices { targets[i].adapters = configuration.adapters }
        let engine = Engine(rules: configuration.rules, jobs: options.jobs, limits: options.limits, progress: options.progress)
        var outcome = await engine.scan(targets)
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
        outcome.diagnostics += notUnderstood(targets, outcome.findings)
        return outcome
    }

    /// A config target no check recognised (no adapter found a key it knows, no parser took it,
    /// no rule had a finding) was not judged at all: said so, with the adapters tried, instead of
    /// the silent pass an empty result list would look like.
    static func notUnderstood(_ targets: [ScanTarget], _ findings: [Finding]) -> [Diagnostic] {
        var judged = Set<Int>()
        for finding in findings where finding.status == .fail || finding.status == .review { judged.insert(finding.targetIndex) }
        var diagnostics: [Diagnostic] = []
        for (i, target) in targets.enumerated() where target.kind == .config && !judged.contains(i) && target.understanding.isEmpty {
            let files = target.tree?.index.entries.filter { $0.type == .file } ?? []
            let tried = target.adapters.adapters.filter { adapter in
                let globs = adapter.files.compactMap { try? Glob($0) }
                return files.contains { file in globs.contains { $0.matchesBasename(String(file.name)) } }
            }.map(\.adapter)
            diagnostics.append(Diagnostic(.warning, .target, code: "config.not-understood",
                "no rule understood this file: " + (tried.isEmpty ? "no config adapter reads files of this name"
                    : "the config adapters for its name (\(tried.joined(separator: ", "))) found none of the settings the rules judge")
                + " and no check recognised its format; nothing in it was judged (docs/config-adapters.md: add an adapter)",
                at: SourceLocation(file: target.spec)))
        }
        return diagnostics
    }
}
