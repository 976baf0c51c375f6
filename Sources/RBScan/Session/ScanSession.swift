import RBChecks
import RBCore
import RBNet

#if canImport(Glibc)
import Glibc
#endif

/// One `rbscan scan`, as a pipeline of stages, each in its own file:
/// configuration (rules, plugins, baseline: `ConfigurationStage`) beside
/// resolve → sweep hosts → probe endpoints (`ResolveStage`, `HostSweepStage`, `ProbeStage`),
/// then run the checks (`CheckStage`) and the fleet checks over every target (`FleetStage`).
/// Reporting is the caller's (`Reporter`s over the `ScanReport`).
public struct ScanSession {
    public struct Options: Sendable {
        public var targets: [String]
        public var baseline: String?
        public var ruleDirectories: [String]
        /// False for `--no-shipped-rules`: only `ruleDirectories` (and plugins' rules), not `Rules/`.
        public var shippedRules = true
        /// External check plugins (`--plugins DIR`): their checks, and the rule packs in their `rules/`.
        public var pluginDirectories: [String] = []
        public var failOn: GateThreshold?
        public var jobs: Int
        public var limits: ScanLimits
        public var commandLine: String?
        /// Whether firmware targets get their component inventory (for an SBOM report).
        public var components: Bool
        /// Whether firmware targets carry their components when a rule built them anyway (JSON).
        public var componentsIfBuilt = false
        /// Inventory names and tags per target as given.
        public var labels: [String: TargetLabel] = [:]
        /// Called as rule runs finish (finished, total), for a progress bar.
        public var progress: (@Sendable (Int, Int) -> Void)?
        /// Composed rule packs and adapters kept between runs (`NodeCache.userDefault()` for the
        /// command line); nil: parse them every time.
        public var ruleCache: NodeCache?

        public init(targets: [String], baseline: String? = nil, ruleDirectories: [String] = [],
                    failOn: GateThreshold? = nil, jobs: Int? = nil, limits: ScanLimits = ScanLimits(),
                    commandLine: String? = nil, components: Bool = false) {
            self.components = components
            self.targets = targets
            self.baseline = baseline
            self.ruleDirectories = ruleDirectories
            self.failOn = failOn
            self.jobs = jobs ?? ScanSession.coreCount
            var limits = limits
            limits.threads = self.jobs
            self.limits = limits
            self.commandLine = commandLine
        }
    }

    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The rules and baseline a run uses, or the configuration diagnostics that stop it.
    public struct Configuration: Sendable {
        public var rules: [Rule]
        public var baseline: Baseline?
        public var packs: [RulePack]
        public var adapters: ConfigAdapters
        public var diagnostics: [Diagnostic]
        public var isValid: Bool { !diagnostics.contains { $0.level == .error } }
    }

    public static func run(_ options: Options, registry: CheckRegistry = BuiltinChecks.registry) async -> ScanReport {
        let start = Timestamp.now()
        // Rules load while the targets are indexed and endpoints probed: start-up work with no
        // dependency (the network waits on Dispatch workers while the rules parse).
        async let prepared = prepareTargets(options)
        let configurationStart = ContinuousClock.now
        // A scan does not run the rules' examples (`rules lint` / `rules test` decode and check them).
        let configuration = configuration(ruleDirectories: options.ruleDirectories, baseline: options.baseline,
                                          examples: false, registry: registry, pluginDirectories: options.pluginDirectories,
                                          shippedRules: options.shippedRules, cache: options.ruleCache)
        Profiler.note("rules loaded", since: configurationStart)
        Profiler.flushConsumers("rules")
        // A path target (a directory, an image, a config file) runs most rules: their checks
        // (options decoded, patterns compiled) are built now, on the cores the index walk
        // leaves idle, instead of one after the other when the engine plans. Endpoint-only runs
        // keep building only the checks they use.
        if options.targets.contains(where: { !$0.contains("://") }) {
            let building = configuration.rules.flatMap { rule in
                rule.implementations.filter { $0.targets.contains(.firmware) || $0.targets.contains(.config) }
            }
            _ = await inLanes(building.count, lanes: coreCount) { indices in
                for i in indices { _ = building[i].check }
            }
            Profiler.note("checks built", since: configurationStart)
        }
        var (targets, targetDiagnostics) = await prepared
        let gate = options.failOn ?? configuration.baseline?.failOn ?? .severity(.high)
        let baselineID = configuration.baseline?.id ?? "none"
        guard configuration.isValid else {
            return ScanReport(targets: [], rules: [], findings: [], diagnostics: configuration.diagnostics,
                              baselineID: baselineID, gate: gate, startTime: start, endTime: Timestamp.now(),
                              commandLine: options.commandLine)
        }
        let outcome = await runChecks(on: &targets, configuration, options)
        var report = ScanReport(targets: targets, rules: outcome.rulesRun, findings: outcome.findings,
                                diagnostics: configuration.diagnostics + targetDiagnostics + outcome.diagnostics,
                                baselineID: baselineID, gate: gate, startTime: start, endTime: Timestamp.now(),
                                commandLine: options.commandLine)
        applyFleetChecks(to: &report, configuration, options)
        // The checks are done: the file contents they kept go before the reports are written
        // (the reports' own memory came on top of the scan's peak).
        for target in report.targets { target.cache.releaseContent() }
        HeapTrim.releaseFree()
        return report
    }
}
