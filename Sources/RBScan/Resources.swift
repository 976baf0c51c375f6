import RBCore

#if canImport(Glibc)
import Glibc
#endif

/// Finds the shipped `Rules/` and `Baselines/` directories: `$RBSCAN_HOME`, then the nearest
/// ancestor of the executable that has both (a checkout running `.build/debug/rbscan`), then
/// `<prefix>/share/rbscan` beside an installed binary, then the working directory.
public enum Resources {
    public static func home() -> String? {
        if let env = getenv("RBSCAN_HOME").map({ String(cString: $0) }), isHome(env) { return env }
        var candidates: [String] = []
        if let exe = executablePath() {
            var dir = exe
            while let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
                dir = String(dir[..<slash])
                candidates.append(dir)
                candidates.append(dir + "/share/rbscan")
            }
        }
        candidates.append(".")
        return candidates.first(where: isHome)
    }

    public static var defaultRulesDirectory: String? { home().map { $0 + "/Rules" } }
    public static var baselinesDirectory: String? { home().map { $0 + "/Baselines" } }
    public static let defaultBaselineName = "red-baseline-2.1"
    public static var defaultProfile: String? { home().map { $0 + "/Profiles/generic-camera.yaml" } }

    /// The site's plugins, loaded by every run that loads the shipped rules:
    /// `<prefix>/share/rbscan/plugins.d` (or `$RBSCAN_HOME/plugins.d`). Not `plugins`: on a
    /// case-insensitive file system that is the examples' `Plugins/` (installed beside it), which
    /// must not run in every scan.
    public static var defaultPluginsDirectory: String? {
        guard let home = home(), HostFiles.kind(of: home + "/" + sitePluginsName) == .directory else { return nil }
        return home + "/" + sitePluginsName
    }

    public static let sitePluginsName = "plugins.d"

    /// `<home>/plugins` spelled exactly so (where site plugins went before they moved to
    /// `plugins.d`), when it exists: it is no longer loaded, and a scan says so.
    public static var formerSitePluginsDirectory: String? {
        guard let home = home(), (try? HostFiles.list(directory: home))?.contains("plugins") == true,
              HostFiles.kind(of: home + "/plugins") == .directory else { return nil }
        return home + "/plugins"
    }

    static func isHome(_ dir: String) -> Bool {
        HostFiles.kind(of: dir + "/Rules") == .directory && HostFiles.kind(of: dir + "/Baselines") == .directory
    }

    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buffer, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `--baseline NAME|FILE`: a path when it names a file, else `Baselines/NAME.yaml`.
    public static func baselinePath(_ nameOrFile: String?) -> String? {
        let value = nameOrFile ?? defaultBaselineName
        if value.contains("/") || value.hasSuffix(".yaml") || value.hasSuffix(".yml") || HostFiles.kind(of: value) == .regularFile {
            return value
        }
        return baselinesDirectory.map { "\($0)/\(value).yaml" }
    }
}
