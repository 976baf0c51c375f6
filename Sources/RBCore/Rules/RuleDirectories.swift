/// Which rules directories a run loads: the shipped `Rules/` with every `--rules` directory and
/// every plugin's `rules/` layered over it. A third party's directory (its packs, its adapters,
/// or both) adds to the shipped rules instead of hiding them; `--no-shipped-rules` leaves the
/// shipped ones out.
public enum RuleDirectories {
    /// The directories in load order, shipped first (so that a duplicate rule ID is reported at
    /// the later directory), each once however it is spelt.
    ///
    /// - `shipped`: the shipped `Rules/`, nil when it cannot be found.
    /// - `includeShipped`: false for `--no-shipped-rules`.
    /// - A given directory whose manifest is the shipped pack's (id `rbscan`: an edited or newer
    ///   copy of `Rules/`) takes the shipped directory's place rather than duplicating its rules.
    public static func layered(shipped: String?, includeShipped: Bool = true, given: [String],
                               plugins: [String] = []) -> (directories: [String], diagnostics: [Diagnostic]) {
        var directories: [String] = []
        var diagnostics: [Diagnostic] = []
        var seen = Set<String>()
        func add(_ directory: String) {
            let key = HostFiles.canonicalPath(directory) ?? directory
            if seen.insert(key).inserted { directories.append(directory) }
        }
        if includeShipped {
            if let shipped {
                let replaced = given.contains { PackManifest.load(directory: $0).manifest?.id == PackManifest.shippedID }
                if !replaced { add(shipped) }
            } else if given.isEmpty {
                diagnostics.append(Diagnostic(.error, .configuration, code: "rules.not-found",
                    "cannot find the shipped Rules/ directory; pass --rules DIR or set RBSCAN_HOME"))
            } else {
                // Before layering, --rules replaced the shipped rules: a run that names its own
                // goes on without them, but says so.
                diagnostics.append(Diagnostic(.warning, .configuration, code: "rules.not-found",
                    "cannot find the shipped Rules/ directory (set RBSCAN_HOME); only the --rules directories are loaded"))
            }
        }
        given.forEach(add)
        plugins.forEach(add)
        if directories.isEmpty && !includeShipped {
            diagnostics.append(Diagnostic(.error, .configuration, code: "rules.none",
                "no rules to load: --no-shipped-rules needs --rules DIR or a plugin with rules/"))
        }
        return (directories, diagnostics)
    }
}
