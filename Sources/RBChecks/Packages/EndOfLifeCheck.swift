import RBCore

/// `component.eol`: components of the image (ComponentInventory) on an end-of-life branch
/// (RB-PKG-004). The table is data in the rule: per component, a pattern over its version and
/// the date the branch's upstream support ended. A component built into the image (found by its
/// version string) on such a branch fails; one installed from a distribution's package database
/// is left for review, since the distribution may still back-port fixes to it.
public struct EndOfLifeCheck: Check {
    public struct Branch: Decodable, Sendable {
        var component: String
        /// A PCRE pattern over the version (`^1\.1\.`); default any version.
        var versions: String?
        /// When upstream support ended (`YYYY-MM-DD`), or `unmaintained`.
        var ended: String
    }

    public struct Options: Decodable, Sendable {
        var branches: [Branch]
    }

    public static let id = "component.eol"
    public static let summary = "Reports components of the image on end-of-life branches (table in the rule)."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let branches: [(component: String, versions: Regex?, ended: String)]

    public init(options: Options) throws(CheckOptionError) {
        var compiled: [(String, Regex?, String)] = []
        for (i, branch) in options.branches.enumerated() {
            let date = branch.ended.split(separator: "-")
            guard branch.ended == "unmaintained" || (date.count == 3 && date.allSatisfy { $0.allSatisfy(\.isNumber) }) else {
                throw CheckOptionError(key: "branches[\(i)].ended", "a date YYYY-MM-DD or 'unmaintained'")
            }
            do {
                compiled.append((branch.component.lowercased(), try branch.versions.map { try Regex($0) }, branch.ended))
            } catch {
                throw CheckOptionError(key: "branches[\(i)].versions", "\(error)")
            }
        }
        branches = compiled
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        for component in ComponentInventory.of(context).components {
            let name = component.name.lowercased()
            guard let branch = branches.first(where: { branch in
                (branch.component == name || (component.source != "binary" && Self.packageNames[branch.component]?.contains(name) == true))
                    && (branch.versions?.hasMatch(in: Array(Self.upstream(component.version).utf8)) ?? true)
            }) else { continue }
            let when = branch.ended == "unmaintained" ? "is unmaintained upstream" : "reached upstream end of life on \(branch.ended)"
            let packaged = component.source != "binary"
            observations.append(Observation(
                status: packaged ? .review : .fail,
                message: "\(component.name) \(component.version) (\(component.path)) \(when)"
                    + (packaged ? "; installed from the \(component.source) database: check whether the distribution still fixes it" : ""),
                location: Location(path: component.path),
                evidence: Evidence(key: "eol:" + name + ":" + component.version,
                                   facts: ["component": component.name, "version": component.version, "source": component.source, "ended": branch.ended])))
        }
        return observations
    }

    /// Distribution package names of a component (`libssl3` is OpenSSL).
    static let packageNames: [String: Set<String>] = [
        "openssl": ["openssl", "libssl3", "libssl1.1", "libssl1.0.2", "libssl1.0.0", "libopenssl"],
        "busybox": ["busybox", "busybox-static"],
        "dropbear": ["dropbear", "dropbear-bin"],
        "openssh": ["openssh-server", "openssh-client"],
        "lighttpd": ["lighttpd"],
        "dnsmasq": ["dnsmasq", "dnsmasq-base", "dnsmasq-full"],
        "hostapd": ["hostapd"],
        "curl": ["curl", "libcurl4", "libcurl"],
    ]

    /// The upstream part of a package version (`3.0.11-1~deb12u2` → `3.0.11`, `1:9.2p1-2` → `9.2p1`).
    static func upstream(_ version: String) -> String {
        var text = Substring(version)
        if let colon = text.firstIndex(of: ":") { text = text[text.index(after: colon)...] }
        if let dash = text.firstIndex(of: "-") { text = text[..<dash] }
        return String(text)
    }
}
