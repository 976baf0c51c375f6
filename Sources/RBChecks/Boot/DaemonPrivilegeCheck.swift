import RBCore

/// `boot.privileges`: network daemons started at boot (boot-service model) that keep root
/// (RB-SYS-005). A start drops privileges when its command does (`start-stop-daemon -c/--chuid`,
/// `chpst -u`, `su … -c`, `setuidgid`, `runuser -u`, the daemon's own `-u USER`/`--user`), its
/// systemd unit sets `User=`, or the daemon's configuration names a user (lighttpd
/// `server.username`, boa `User`, mosquitto `user`, nginx `user`, snmpd `agentuser`, uhttpd
/// none). A root start fails low when the image has an unprivileged account to use; without
/// one it is a review result (there is nobody to drop to).
public struct DaemonPrivilegeCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Program names (regular expressions, whole name) of network daemons.
        var daemons: [String]?
    }

    public static let id = "boot.privileges"
    public static let summary = "Reports network daemons started at boot that run as root although they could drop privileges."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    static let defaultDaemons = ["httpd", "lighttpd", "boa", "goahead", "webs", "uhttpd", "mini_httpd", "thttpd", "nginx", "miniupnpd",
                                 "upnpd", "mosquitto", "snmpd", "rtspd", "onvif.*", "mediaserver", "streamer", "cgiserver.*"]

    /// Daemon → where its configuration names the user it switches to.
    static let configUser: [String: (paths: [String], pattern: String)] = [
        "lighttpd": (["etc/lighttpd/*.conf", "etc/lighttpd.conf"], #"^\s*server\.username\s*=\s*"([^"]+)""#),
        "boa": (["etc/boa/boa.conf", "etc/boa.conf"], #"^\s*User\s+(\S+)"#),
        "mosquitto": (["etc/mosquitto/*.conf", "etc/mosquitto.conf"], #"^\s*user\s+(\S+)"#),
        "nginx": (["etc/nginx/nginx.conf"], #"^\s*user\s+([^;\s]+)"#),
        "snmpd": (["etc/snmp/snmpd.conf", "etc/snmpd.conf"], #"^\s*agentuser\s+(\S+)"#),
        "miniupnpd": (["etc/miniupnpd.conf", "etc/miniupnpd/*.conf"], #"^\s*user\s*=\s*(\S+)"#),
    ]

    let daemons: [Regex]

    public init(options: Options) throws(CheckOptionError) {
        do {
            daemons = try (options.daemons ?? Self.defaultDaemons).map { try Regex("^(?:" + $0 + ")$") }
        } catch {
            throw CheckOptionError(key: "daemons", "\(error)")
        }
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let starts = BootServices.of(context).starts.filter { start in
            start.via != "cron" && daemons.contains { $0.hasMatch(in: Array(start.program.utf8)) }
        }
        guard !starts.isEmpty else { return [] }
        let unprivileged = (try? AccountSource(extraFiles: nil))?.accounts(in: context)
            .filter { ($0.uid ?? 0) != 0 }.map(\.name) ?? []
        var observations: [Observation] = []
        for start in starts {
            if let user = Self.droppedTo(start) ?? configuredUser(start.program, in: context), user != "root", user != "0" { continue }
            let facts = ["program": start.program, "via": start.via, "chain": start.chain.joined(separator: " → ")]
            if unprivileged.isEmpty {
                observations.append(Observation(status: .review,
                    message: "\(start.program) is started as root at boot and the image has no unprivileged account to run it as",
                    location: Location(path: start.path, line: start.line), evidence: Evidence(key: "root:" + start.program, snippet: Snippet.make(start.command), facts: facts)))
            } else {
                observations.append(Observation(
                    message: "\(start.program) is started as root at boot without dropping privileges (unprivileged accounts exist: \(unprivileged.prefix(4).joined(separator: ", ")))",
                    location: Location(path: start.path, line: start.line), evidence: Evidence(key: "root:" + start.program, snippet: Snippet.make(start.command), facts: facts)))
            }
        }
        return observations
    }

    /// The user a start's own command or unit switches to, if any.
    static func droppedTo(_ start: BootStart) -> String? {
        if let user = start.user { return user }
        var words = BootServices.Builder.words(start.command)
        let startStop = words.contains { $0.hasSuffix("start-stop-daemon") }
        // start-stop-daemon's own options end at `--`; what follows is the daemon's (boa -c DIR).
        if startStop, let end = words.firstIndex(of: "--") { words = Array(words[..<end]) }
        for (i, word) in words.enumerated() where i + 1 < words.count {
            let next = words[i + 1]
            switch word {
            case "-c", "--chuid":
                if startStop { return String(next.split(separator: ":").first ?? "") }
            case "-u", "--user":
                if words[0].hasSuffix("chpst") || words[0].hasSuffix("runuser") || words.contains(where: { $0.hasSuffix(start.program) }) {
                    return String(next.split(separator: ":").first ?? "")
                }
            default:
                break
            }
            if word.hasSuffix("setuidgid") || (word == "su" || word.hasSuffix("/su")) && words.contains("-c") {
                return next.hasPrefix("-") ? nil : next
            }
        }
        if let inline = words.first(where: { $0.hasPrefix("--user=") || $0.hasPrefix("--chuid=") }) {
            return String(inline.split(separator: "=").last ?? "")
        }
        return nil
    }

    /// The user the daemon's configuration file names, if any.
    func configuredUser(_ program: String, in context: CheckContext) -> String? {
        guard let (paths, pattern) = Self.configUser[program], let globs = try? PathPatterns.compile(paths, key: "paths"),
              let regex = try? Regex(pattern) else { return nil }
        for file in context.files(matching: globs) {
            guard let content = context.readUnlessBinary(file) else { continue }
            var bytes = content.bytes
            CommentBlanker.blank(&bytes, markers: [Array("#".utf8)])
            if let match = regex.matches(in: bytes, limit: 1).first, let group = match.groups.first ?? nil {
                return String(decoding: bytes[group], as: UTF8.self)
            }
        }
        return nil
    }
}
