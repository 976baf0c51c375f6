import RBCore

/// `config.outbound-transport`: outbound integrations configured in cleartext (RB-DAT-002):
/// `key = value` settings whose key names an outbound service (cloud, P2P, upload, push,
/// webhook, MQTT broker, FTP/NAS, SMTP/mail, event/alarm report, remote syslog; NTP and proxy
/// settings are left out) and whose value is an `http://`,
/// `ftp://`, `mqtt://`, `tcp://…:1883` or `telnet://` endpoint on a host other than the device
/// itself; and SMTP settings with TLS/SSL turned off. A private or link-local address is low
/// (a local NAS or broker); anything else fails at the rule's severity.
public struct OutboundTransportCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
    }

    public static let id = "config.outbound-transport"
    public static let summary = "Finds outbound integrations (cloud, upload, MQTT, SMTP) configured without TLS."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let exclude: [Glob]
    static let setting = try? Regex(#"(?im)(?:^|[{,;])[ \t]*(?:option[ \t]+)?["']?([a-z0-9_.\-]*(?:cloud|p2p|upload|push|smtp|mail|ftp|mqtt|broker|nas|notify|webhook|report|event|alarm|syslog|remote)[a-z0-9_.\-]*)["']?[ \t]*(?:=|:|[ \t])[ \t]*["']?((?:http|ftp|mqtt|tcp|telnet)://[^\s"'<>;,]+)"#)
    static let smtpPlain = try? Regex(#"(?im)^[ \t]*["']?((?:smtp|mail|email)[a-z0-9_.\-]*(?:ssl|tls|starttls|secure|encrypt)[a-z0-9_.\-]*)["']?[ \t]*[=:][ \t]*["']?(0|false|no|off|none|disabled?)["']?[ \t]*$"#)

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["etc/**", "**/config/**", "**/*.{conf,cfg,ini,json,xml,yaml,yml,env,properties}", "mnt/**", "opt/**"],
                                         key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? ["etc/apt/**", "usr/share/**", "etc/ssl/**", "etc/ca-certificates/**", "**/*.pem"],
                                           key: "exclude")
    }

    static let schemeSeparator = Array("://".utf8)

    /// Whether a text file may hold a finding at all (a URL, or a line the SMTP pattern matches),
    /// worked out by the read-ahead pass while it holds each file: most configuration files have
    /// neither, and an image's text is larger than the content cache.
    static let mayMatch = ContentAnalysis(id: "config.outbound-transport:may-match", binaries: false, nothing: false,
                                          isNothing: { !$0 }) { bytes in
        ByteSearch.firstIndex(of: schemeSeparator, in: bytes) != nil || (smtpPlain?.hasMatch(in: bytes) ?? true)
    }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware, let entries = context.tree?.index.entries else { return ContentInterests() }
        return ContentInterests(Self.mayMatch, positions: context.filePositions(matching: paths, excluding: exclude)
            .filter { entries[$0].size < 1 << 20 })
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let setting = Self.setting, let smtpPlain = Self.smtpPlain else { return [] }
        var observations: [Observation] = []
        let mayMatch = context.analysis(Self.mayMatch.id)
        for file in context.files(matching: paths, excluding: exclude) where file.size < 1 << 20 {
            if mayMatch(file) as? Bool == false { continue }
            guard let content = context.readUnlessBinary(file) else { continue }
            let bytes = content.bytes
            var lines: LineIndex?
            func line(_ offset: Int) -> Int {
                if lines == nil { lines = LineIndex(bytes) }
                return lines!.line(atOffset: offset)
            }
            for match in setting.matches(in: bytes, limit: 64) {
                guard match.groups.count > 1, let keyRange = match.groups[0], let valueRange = match.groups[1] else { continue }
                let key = String(decoding: bytes[keyRange], as: UTF8.self)
                let url = String(decoding: bytes[valueRange], as: UTF8.self)
                let lowerKey = key.lowercased()
                if lowerKey.contains("ntp") || lowerKey.contains("proxy") { continue }
                guard let host = Self.host(of: url), !Self.isLocal(host) else { continue }
                let isMQTT = url.lowercased().hasPrefix("tcp://")
                if isMQTT && !url.hasSuffix(":1883") && !url.contains(":1883/") { continue }
                let shown = Self.withoutCredentials(url)
                observations.append(Observation(
                    severity: Self.isPrivate(host) ? .low : nil,
                    message: "\(key) sends to \(shown) without TLS" + (Self.isPrivate(host) ? " (a private address)" : ""),
                    location: Location(path: file.path, line: line(keyRange.lowerBound)),
                    evidence: Evidence(key: "cleartext:" + key + ":" + (shown.split(separator: "/").prefix(3).joined(separator: "/")),
                                       snippet: Snippet.make(key + "=" + shown), facts: ["scheme": String(url.prefix { $0 != ":" }), "host": host])))
            }
            for match in smtpPlain.matches(in: bytes, limit: 8) {
                guard let keyRange = match.groups.first ?? nil else { continue }
                let key = String(decoding: bytes[keyRange], as: UTF8.self)
                observations.append(Observation(message: "e-mail alarms are sent without TLS (\(key) is off)",
                                                location: Location(path: file.path, line: line(keyRange.lowerBound)),
                                                evidence: Evidence(key: "smtp-plain:" + key, snippet: Snippet.make(String(decoding: bytes[match.range], as: UTF8.self)))))
            }
        }
        return observations
    }

    /// `scheme://[user:pass@]host[:port]/…` → host.
    static func host(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var rest = url[schemeEnd.upperBound...]
        if let at = rest.firstIndex(of: "@"), !rest[..<at].contains("/") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<close]) }
        let host = rest.prefix { $0 != ":" && $0 != "/" && $0 != "?" }
        return host.isEmpty || host.contains("$") || host.contains("%") || host.contains("{") ? nil : String(host).lowercased()
    }

    static func isLocal(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "0.0.0.0"
    }

    /// RFC 1918, link-local and unique-local addresses, and `.local` / `.lan` names.
    static func isPrivate(_ host: String) -> Bool {
        let parts = host.split(separator: ".").compactMap { Int($0) }
        if parts.count == 4 {
            if parts[0] == 10 || (parts[0] == 192 && parts[1] == 168) || (parts[0] == 169 && parts[1] == 254) { return true }
            if parts[0] == 172 && (16...31).contains(parts[1]) { return true }
        }
        return host.hasPrefix("fe80:") || host.hasPrefix("fd") && host.contains(":") || host.hasSuffix(".local") || host.hasSuffix(".lan")
    }

    /// The URL with any userinfo masked (RB-SEN-002 reports the credential itself).
    static func withoutCredentials(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@"),
              !url[schemeEnd.upperBound..<at].contains("/") else { return url }
        return String(url[..<schemeEnd.upperBound]) + "***@" + String(url[url.index(after: at)...])
    }
}
