import RBCore

/// `ssh.sshd-config`: OpenSSH server settings with OpenSSH's own semantics: `Include` files are
/// read in place (globs relative to /etc/ssh), the first value of a keyword wins, `Match` blocks
/// are judged separately, and a missing keyword takes the default of the sshd version found in
/// the image (`OpenSSH_x.y`; PermitRootLogin was `yes` before 7.0).
public struct SSHDConfigCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        /// sshd binaries whose version string decides the defaults.
        var binaries: [String]?
    }

    public static let id = "ssh.sshd-config"
    public static let summary = "Judges OpenSSH sshd_config (Include, Match, version defaults): root password login, empty passwords."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let binaries: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["etc/ssh/sshd_config"], key: "paths")
        binaries = try PathPatterns.compile(options.binaries ?? ["usr/sbin/sshd", "sbin/sshd", "usr/bin/sshd"], key: "binaries")
    }

    /// One setting as sshd reads it: keyword (lower-cased), value, where, and the Match block.
    struct Setting {
        var keyword: String
        var value: String
        var path: String
        var line: Int
        var match: String?
    }

    /// Reads `entry` and its Includes (depth-limited) into settings, in sshd's reading order.
    static func settings(_ entry: FileEntry, context: CheckContext, depth: Int = 0, match: String? = nil) -> [Setting] {
        guard depth < 8, let text = context.readText(entry) else { return [] }
        var result: [Setting] = []
        var currentMatch = match
        for (number, raw) in TextLines(text).lines.enumerated() {
            let line = TextLines.stripComment(raw, markers: ["#"]).trimmingWhitespace()
            guard !line.isEmpty else { continue }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" || $0 == "=" })
            let keyword = parts[0].lowercased()
            let value = parts.count > 1 ? String(parts[1].trimmingWhitespace()) : ""
            if keyword == "match" {
                currentMatch = value.lowercased() == "all" ? match : value
                continue
            }
            if keyword == "include", let tree = context.tree {
                for pattern in value.split(separator: " ") {
                    var path = String(pattern)
                    if !path.hasPrefix("/") { path = "etc/ssh/" + path }
                    guard let glob = try? Glob(path) else { continue }
                    for included in tree.regularFiles(matching: [glob]) {
                        result += settings(included, context: context, depth: depth + 1, match: currentMatch)
                    }
                }
                continue
            }
            result.append(Setting(keyword: keyword, value: value, path: entry.path, line: number + 1, match: currentMatch))
        }
        return result
    }

    /// The OpenSSH version in the first sshd binary found, as (major, minor).
    func version(in context: CheckContext) -> (Int, Int)? {
        guard let tree = context.tree else { return nil }
        for binary in tree.regularFiles(matching: binaries) {
            guard let content = context.read(binary),
                  let regex = try? Regex(#"OpenSSH_(\d+)\.(\d+)"#),
                  let match = regex.matches(in: content.bytes, limit: 1).first,
                  let major = match.groups[0].flatMap({ Int(String(decoding: content.bytes[$0], as: UTF8.self)) }),
                  let minor = match.groups[1].flatMap({ Int(String(decoding: content.bytes[$0], as: UTF8.self)) }) else { continue }
            return (major, minor)
        }
        return nil
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        for file in context.files(matching: paths) {
            let all = SSHDConfigCheck.settings(file, context: context)
            if !all.isEmpty { context.understood(file.path) }
            // Global settings: the first value wins. Match blocks: judged on their own.
            func first(_ keyword: String, match: String?) -> Setting? {
                all.first { $0.keyword == keyword && $0.match == match }
            }
            let blocks = [nil] + Array(Set(all.compactMap(\.match))).sorted().map { Optional($0) }
            for block in blocks {
                let scope = block.map { " in 'Match \($0)'" } ?? ""
                if let empty = first("permitemptypasswords", match: block), empty.value.lowercased() == "yes" {
                    observations.append(Observation(
                        severity: .critical, message: "sshd allows empty passwords (PermitEmptyPasswords yes\(scope))",
                        location: Location(path: empty.path, line: empty.line),
                        evidence: Evidence(key: "PermitEmptyPasswords" + scope, snippet: "PermitEmptyPasswords yes")))
                }
                if let root = first("permitrootlogin", match: block) {
                    if root.value.lowercased() == "yes" {
                        observations.append(Observation(
                            message: "sshd allows root to log in with a password (PermitRootLogin yes\(scope))",
                            location: Location(path: root.path, line: root.line),
                            evidence: Evidence(key: "PermitRootLogin" + scope, snippet: "PermitRootLogin \(root.value)")))
                    }
                } else if block == nil, let (major, minor) = version(in: context), major < 7 {
                    observations.append(Observation(
                        message: "PermitRootLogin is not set and OpenSSH \(major).\(minor) defaults to yes (root password login)",
                        location: Location(path: file.path),
                        evidence: Evidence(key: "PermitRootLogin default", facts: ["version": "\(major).\(minor)"])))
                }
            }
        }
        return observations
    }
}
