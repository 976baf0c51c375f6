import Dispatch
import RBChecks
import RBCore
import Synchronization

// Stage 0 of a scan: the rules, the external plugins' checks and the baseline.
extension ScanSession {
    /// Loads the shipped `Rules/` with the `--rules` directories layered over it (without it when
    /// `shippedRules` is false; `RuleDirectories.layered`) and the baseline.
    /// `cache`: composed packs and adapters from earlier runs (`NodeCache`).
    /// `pluginDirectories`: external check plugins (`--plugins DIR`, after the site's
    /// `share/rbscan/plugins.d` when it exists); their checks join the
    /// registry and the rule packs in their `rules/` directories join the rules directories.
    public static func configuration(ruleDirectories: [String], baseline: String?, examples: Bool = true,
                                     registry: CheckRegistry = BuiltinChecks.registry,
                                     pluginDirectories: [String] = [], shippedRules: Bool = true,
                                     cache: NodeCache? = nil) -> Configuration {
        var diagnostics: [Diagnostic] = []
        var registry = registry
        var pluginRules: [String] = []
        // The site's plugins (share/rbscan/plugins.d) come with the shipped rules; --no-shipped-rules
        // leaves both out.
        var pluginDirectories = pluginDirectories
        if shippedRules, let site = Resources.defaultPluginsDirectory, !pluginDirectories.contains(site) {
            pluginDirectories.insert(site, at: 0)
        }
        if shippedRules, let former = Resources.formerSitePluginsDirectory {
            diagnostics.append(Diagnostic(.warning, .configuration, code: "plugins.moved",
                "site plugins are loaded from \(Resources.sitePluginsName) beside it, no longer from this directory (on a case-insensitive file system 'plugins' is the examples' 'Plugins'): move them",
                at: SourceLocation(file: former)))
        }
        if !pluginDirectories.isEmpty {
            let (plugins, pluginDiagnostics) = Plugin.load(directories: pluginDirectories)
            diagnostics += pluginDiagnostics
            registry = registry.adding(plugins.flatMap(\.dynamicChecks))
            pluginRules = plugins.map { $0.directory + "/rules" }.filter { HostFiles.kind(of: $0) == .directory }
        }
        let (directories, layerDiagnostics) = RuleDirectories.layered(shipped: Resources.defaultRulesDirectory, includeShipped: shippedRules,
                                                                      given: ruleDirectories, plugins: pluginRules)
        diagnostics += layerDiagnostics
        // The adapters load on a thread of their own while the packs load (start-up is part of
        // every endpoint scan); both only read their own files. Not a global-queue worker: those
        // may all be busy (the index walk), and this thread would wait for them.
        let loadedAdapters = Mutex<(ConfigAdapters, [Diagnostic])?>(nil)
        let adaptersDone = DispatchGroup()
        DispatchQueue(label: "rbscan.adapters").async(group: adaptersDone) {
            let result = ConfigAdapters.load(ruleDirectories: directories, cache: cache)
            loadedAdapters.withLock { $0 = result }
        }
        let (packs, loadDiagnostics) = RuleLoader(registry: registry, examples: examples, cache: cache).load(directories: directories)
        diagnostics += loadDiagnostics
        adaptersDone.wait()
        let (adapters, adapterDiagnostics) = loadedAdapters.withLock { $0 } ?? (ConfigAdapters(), [])
        diagnostics += adapterDiagnostics
        var loadedBaseline: Baseline?
        if let path = Resources.baselinePath(baseline) {
            do {
                loadedBaseline = try Baseline.load(file: path)
            } catch {
                diagnostics += error.diagnostics
            }
        } else {
            diagnostics.append(Diagnostic(.error, .configuration, code: "baseline.not-found",
                "cannot find baseline '\(baseline ?? Resources.defaultBaselineName)'; pass --baseline FILE or set RBSCAN_HOME"))
        }
        var rules: [Rule] = []
        if let loadedBaseline {
            let (selected, baselineDiagnostics) = loadedBaseline.apply(to: packs)
            rules = selected
            diagnostics += baselineDiagnostics
        }
        return Configuration(rules: rules, baseline: loadedBaseline, packs: packs, adapters: adapters, diagnostics: diagnostics)
    }
}
