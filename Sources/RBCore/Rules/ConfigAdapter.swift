/// A config adapter: how one vendor's configuration format spells the normalised keys that
/// config-side rules judge (`auth.lockout.threshold`, `session.idle_timeout_s`…). Adapters are
/// YAML files in a rules directory's `adapters/` folder, so supporting a vendor's export format
/// is a YAML file, not Swift (docs/config-adapters.md).
public struct ConfigAdapter: Decodable, Sendable {
    public static let supportedVersion = 1

    /// Where one normalised key is read from; the first source that yields a value wins.
    public struct Source: Decodable, Sendable {
        /// XPath 1.0 over XML files.
        public var xpath: String?
        /// A data path over JSON and YAML files (`auth.lockout.threshold`, `users[0].level`).
        public var path: String?
        /// A key of INI / key=value files (`section.key` inside a section; Dahua's
        /// `table.Telnet.Enable`).
        public var key: String?
        /// An OpenWrt UCI option, in `uci get` syntax: `PACKAGE.SECTION.OPTION` where PACKAGE is
        /// the file's name (`uhttpd` for /etc/config/uhttpd) and SECTION a name (`main`) or
        /// `@TYPE[N]` / `@TYPE` (the first section of that type setting the option). A list's
        /// values are joined with spaces.
        public var uci: String?
        /// The value when the source is present at all, whatever its text (`listen_https` present:
        /// HTTPS on).
        public var present: String?
        /// The value when the file is of this source's kind and does not have it, within
        /// `within` (an XPath that must match; for UCI, the option's section must exist):
        /// `listen_http` absent from uhttpd's section is HTTP off, not "unknown".
        public var absent: String?
        public var within: String?
        /// Value renames (`digest/basic: basic`, `1: true`), applied case-insensitively.
        public var values: [String: String]?
        /// A factor for numbers (minutes in the file, seconds in the key: 60).
        public var scale: Double?
    }

    public var version: Int
    public var adapter: String
    public var title: String
    /// Files this adapter understands (globs; for a config target, its name).
    public var files: [String]
    public var keys: [String: [Source]]
    /// Prefixes its XPaths may use for namespaces; without them names match by local name
    /// whatever the namespace (vendors declare `xmlns` on every element).
    public var namespaces: [String: String]?
    /// Where the adapter was loaded from.
    public var file: String = ""

    enum CodingKeys: String, CodingKey { case version, adapter, title, files, keys, namespaces }
}

/// Every adapter a run knows.
public struct ConfigAdapters: Sendable {
    public var adapters: [ConfigAdapter]
    public init(_ adapters: [ConfigAdapter] = []) { self.adapters = adapters }

    /// Whether `directory` (a rules directory) has adapter files in its `adapters/` folder.
    public static func present(in directory: String) -> Bool {
        let folder = (directory.hasSuffix("/") ? directory : directory + "/") + "adapters"
        guard HostFiles.kind(of: folder) == .directory, let names = try? HostFiles.list(directory: folder) else { return false }
        return names.contains { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
    }

    /// Loads `DIR/adapters/*.yaml` for each rules directory (a missing folder is fine).
    /// `cache`: composed adapters from earlier runs (`NodeCache`).
    public static func load(ruleDirectories: [String], cache: NodeCache? = nil) -> (ConfigAdapters, [Diagnostic]) {
        var adapters: [ConfigAdapter] = []
        var diagnostics: [Diagnostic] = []
        for directory in ruleDirectories {
            let folder = (directory.hasSuffix("/") ? directory : directory + "/") + "adapters"
            guard HostFiles.kind(of: folder) == .directory, let names = try? HostFiles.list(directory: folder) else { continue }
            for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                let path = folder + "/" + name
                let cpu = Profiler.threadCPU()
                defer { Profiler.consumed("adapter load", bytes: 0, seconds: Profiler.threadCPU() - cpu) }
                do {
                    let text = try HostFiles.readText(path)
                    let node = try NodeDecoder.compose(text, file: path, cache: cache)
                    var adapter = try NodeDecoder(file: path).decode(ConfigAdapter.self, from: node)
                    guard adapter.version == ConfigAdapter.supportedVersion else {
                        diagnostics.append(Diagnostic(.error, .configuration, code: "adapter.unsupported-version",
                            "adapter format version \(adapter.version) is not supported", at: SourceLocation(file: path, line: 1)))
                        continue
                    }
                    for (key, sources) in adapter.keys {
                        for source in sources where [source.xpath, source.path, source.key, source.uci].compactMap({ $0 }).count != 1 {
                            diagnostics.append(Diagnostic(.error, .configuration, code: "adapter.bad-source",
                                "key \(key): each source needs exactly one of xpath, path, key, uci", at: SourceLocation(file: path)))
                        }
                        for source in sources where source.within != nil && source.absent == nil {
                            diagnostics.append(Diagnostic(.error, .configuration, code: "adapter.bad-source",
                                "key \(key): within only applies with absent", at: SourceLocation(file: path)))
                        }
                        for source in sources where source.absent != nil && source.xpath != nil && source.within == nil {
                            diagnostics.append(Diagnostic(.error, .configuration, code: "adapter.bad-source",
                                "key \(key): an XPath source with absent needs within (the element whose document it applies to)",
                                at: SourceLocation(file: path)))
                        }
                    }
                    adapter.file = path
                    adapters.append(adapter)
                } catch let error as DiagnosticError {
                    diagnostics += error.diagnostics
                } catch {
                    diagnostics.append(Diagnostic(.error, .configuration, code: "adapter.unreadable", "\(error)", at: SourceLocation(file: path)))
                }
            }
        }
        return (ConfigAdapters(adapters), diagnostics)
    }
}
