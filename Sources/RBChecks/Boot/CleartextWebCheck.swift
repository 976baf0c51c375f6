import RBCore

/// `boot.web-cleartext`: web servers started at boot (boot-service model) that serve cleartext
/// HTTP without sending it on to HTTPS (RB-DAT-001, firmware side). Each server is judged from
/// its command line and its own configuration:
/// - BusyBox `httpd`, `thttpd`, `boa`: no TLS at all, so any start fails;
/// - `mini_httpd`: fails unless started with `-S` (TLS);
/// - `lighttpd`: the config (`-f FILE`, default `/etc/lighttpd/lighttpd.conf`, `include`s
///   followed one level) fails when a listening socket (`server.port`, `$SERVER["socket"]`) has
///   no `ssl.engine = "enable"` and no `url.redirect` sends requests to `https://`;
/// - OpenWrt `uhttpd`: `/etc/config/uhttpd` fails with a `listen_http` and no
///   `option redirect_https '1'`;
/// - `nginx`: a `server { listen … }` block without `ssl` on its listen and without a
///   `return 301 https://…` / `rewrite … https://` fails;
/// - GoAhead (`goahead`, `webs`): fails when an endpoint argument is `http://…` or none is given
///   (its default is cleartext port 80).
/// Apache `httpd` (not BusyBox) is reported for review: its configuration is out of reach here.
/// Evidence: the start line, and the config line that opens the cleartext port.
public struct CleartextWebCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "boot.web-cleartext"
    public static let summary = "Finds web servers started at boot that serve cleartext HTTP with no redirect to HTTPS."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    public init(options: Options) throws(CheckOptionError) {}

    /// What a server's configuration says: the cleartext listener (where), and whether it
    /// redirects to HTTPS.
    struct Verdict {
        var cleartext: Bool
        var detail: String
        var location: Location?
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var seen = Set<String>()
        for start in BootServices.of(context).starts where start.via != "cron" {
            guard let verdict = judge(start, in: context) else { continue }
            guard verdict.cleartext, seen.insert(start.program + "@" + start.path + ":" + String(start.line)).inserted else { continue }
            var facts = ["program": start.program, "via": start.via, "startedAt": "\(start.path):\(start.line)"]
            if let location = verdict.location { facts["config"] = "\(location.path):\(location.line ?? 0)" }
            if start.condition != nil { facts["condition"] = start.condition }
            observations.append(Observation(
                status: start.program == "httpd" && !isBusyBox(start, in: context) ? .review : .fail,
                message: "\(start.program) started at boot (\(start.path):\(start.line)) \(verdict.detail)",
                location: verdict.location ?? Location(path: start.path, line: start.line),
                evidence: Evidence(key: "cleartext-web:" + start.program, snippet: Snippet.make(start.command), facts: facts)))
        }
        return observations
    }

    func judge(_ start: BootStart, in context: CheckContext) -> Verdict? {
        let words = BootServices.Builder.words(start.command)
        let arguments = Array(words.drop { !$0.hasSuffix(start.program) }.dropFirst())
        switch start.program {
        case "httpd":
            if isBusyBox(start, in: context) {
                let port = value(after: "-p", in: arguments) ?? "80"
                return Verdict(cleartext: true, detail: "is BusyBox httpd on port \(port): it has no TLS, so the web UI is served in cleartext", location: nil)
            }
            return Verdict(cleartext: true, detail: "is an httpd whose TLS and redirect settings rbscan cannot read: check that it serves HTTPS only or redirects", location: nil)
        case "thttpd":
            return Verdict(cleartext: true, detail: "is thttpd, which has no TLS: the web UI is served in cleartext", location: nil)
        case "boa":
            let config = value(after: "-f", in: arguments) ?? (value(after: "-c", in: arguments).map { $0 + "/boa.conf" }) ?? "/etc/boa/boa.conf"
            let port = lines(of: config, in: context).first { $0.text.hasPrefix("Port ") }
            let location = port.map { Location(path: BootServices.Builder.relative(config), line: $0.number) }
            return Verdict(cleartext: true, detail: "is Boa (port \(port.map { String($0.text.dropFirst(5)) } ?? "80")), which has no TLS: the web UI is served in cleartext", location: location)
        case "mini_httpd":
            if arguments.contains("-S") { return Verdict(cleartext: false, detail: "", location: nil) }
            return Verdict(cleartext: true, detail: "is mini_httpd without -S: the web UI is served in cleartext", location: nil)
        case "goahead", "webs":
            let endpoints = arguments.filter { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
            if let plain = endpoints.first(where: { $0.hasPrefix("http://") }) {
                return Verdict(cleartext: true, detail: "is GoAhead listening on \(plain)", location: nil)
            }
            if endpoints.isEmpty {
                return Verdict(cleartext: true, detail: "is GoAhead with no endpoint argument: it listens on cleartext port 80 by default", location: nil)
            }
            return Verdict(cleartext: false, detail: "", location: nil)
        case "lighttpd":
            return lighttpd(config: value(after: "-f", in: arguments) ?? "/etc/lighttpd/lighttpd.conf", in: context)
        case "uhttpd":
            return uhttpd(in: context)
        case "nginx":
            return nginx(config: value(after: "-c", in: arguments) ?? "/etc/nginx/nginx.conf", in: context)
        default:
            return nil
        }
    }

    /// Whether the start runs BusyBox's applet (`busybox httpd`, or an `httpd` that is a link to busybox).
    func isBusyBox(_ start: BootStart, in context: CheckContext) -> Bool {
        if start.command.contains("busybox") { return true }
        let candidates = [start.executable].compactMap { $0 } + ["/usr/sbin/httpd", "/sbin/httpd", "/bin/httpd", "/usr/bin/httpd"]
        for candidate in candidates {
            let relative = BootServices.Builder.relative(candidate)
            guard context.tree?.index.entry(at: relative) != nil else { continue }
            if let resolved = context.tree?.resolve(relative) { return resolved.path.hasSuffix("busybox") || resolved.name.hasPrefix("busybox") }
        }
        return false
    }

    func value(after flag: String, in arguments: [String]) -> String? {
        guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else {
            return arguments.first { $0.hasPrefix(flag) && $0.count > flag.count && flag.count == 2 }.map { String($0.dropFirst(2)) }
        }
        return arguments[i + 1]
    }

    /// The lines of an image file (absolute or relative path), comments and blanks removed.
    func lines(of path: String, in context: CheckContext) -> [(number: Int, text: String)] {
        guard let entry = context.tree?.resolve(BootServices.Builder.relative(path)), entry.type == .file,
              let text = context.readText(entry) else { return [] }
        var result: [(Int, String)] = []
        for (i, raw) in text.splitLines().enumerated() {
            let line = BootServices.Builder.stripComment(String(raw)).trimmingWhitespace()
            if !line.isEmpty { result.append((i + 1, String(line))) }
        }
        return result
    }

    func lighttpd(config: String, in context: CheckContext) -> Verdict {
        var all: [(file: String, number: Int, text: String)] = []
        let main = BootServices.Builder.relative(config)
        for line in lines(of: config, in: context) {
            all.append((main, line.number, line.text))
            // include "conf.d/ssl.conf" (relative to the main file's directory), one level.
            if line.text.hasPrefix("include "), let included = quoted(line.text) {
                let path = included.hasPrefix("/") ? included : (main.split(separator: "/").dropLast().joined(separator: "/") + "/" + included)
                for sub in lines(of: path, in: context) { all.append((BootServices.Builder.relative(path), sub.number, sub.text)) }
            }
        }
        guard !all.isEmpty else {
            return Verdict(cleartext: true, detail: "is lighttpd and its configuration \(config) is not in the image: assume cleartext port 80", location: nil)
        }
        let redirects = all.contains { $0.text.hasPrefix("url.redirect") && $0.text.contains("https://") }
            || all.contains { $0.text.contains("url.redirect") && $0.text.contains("https://") }
        // Walk blocks: the global scope and each $SERVER["socket"] block, with their ssl.engine.
        var globalPort = "80"
        var globalSSL = false
        var globalLine: (String, Int)?
        var sockets: [(name: String, ssl: Bool, at: (String, Int))] = []
        var depth = 0
        for line in all {
            let opens = line.text.filter { $0 == "{" }.count
            let closes = line.text.filter { $0 == "}" }.count
            if line.text.contains("$SERVER[\"socket\"]"), let name = quoted(String(line.text.drop { $0 != "=" })) {
                sockets.append((name, false, (line.file, line.number)))
            } else if depth == 0, line.text.hasPrefix("server.port") {
                globalPort = String(String(line.text.drop { $0 != "=" }.dropFirst()).trimmingWhitespace())
                globalLine = (line.file, line.number)
            } else if line.text.filter({ $0 != " " && $0 != "\t" }).hasPrefix("ssl.engine=\"enable\"") {
                if depth > 0, !sockets.isEmpty { sockets[sockets.count - 1].ssl = true } else { globalSSL = true }
            }
            depth = max(0, depth + opens - closes)
        }
        if redirects { return Verdict(cleartext: false, detail: "", location: nil) }
        if !globalSSL {
            let at = globalLine.map { Location(path: $0.0, line: $0.1) } ?? Location(path: main)
            return Verdict(cleartext: true, detail: "is lighttpd serving cleartext HTTP on port \(globalPort) with no url.redirect to https://", location: at)
        }
        if let plain = sockets.first(where: { !$0.ssl }) {
            return Verdict(cleartext: true, detail: "is lighttpd with a cleartext socket \(plain.name) and no url.redirect to https://",
                           location: Location(path: plain.at.0, line: plain.at.1))
        }
        return Verdict(cleartext: false, detail: "", location: nil)
    }

    func uhttpd(in context: CheckContext) -> Verdict {
        let config = lines(of: "/etc/config/uhttpd", in: context)
        guard !config.isEmpty else {
            return Verdict(cleartext: true, detail: "is uhttpd and /etc/config/uhttpd is not in the image: its default listens on cleartext port 80", location: nil)
        }
        let http = config.first { $0.text.hasPrefix("list listen_http") || $0.text.hasPrefix("option listen_http") }
        let redirect = config.contains { line in
            line.text.hasPrefix("option redirect_https") && ["1", "on", "true", "yes", "enabled"].contains(quoted(line.text) ?? String(line.text.split(separator: " ").last ?? ""))
        }
        guard let http, !redirect else { return Verdict(cleartext: false, detail: "", location: nil) }
        return Verdict(cleartext: true, detail: "is uhttpd with \(http.text) and no option redirect_https '1'",
                       location: Location(path: "etc/config/uhttpd", line: http.number))
    }

    func nginx(config: String, in context: CheckContext) -> Verdict {
        var files = [BootServices.Builder.relative(config)]
        let main = lines(of: config, in: context)
        for line in main where line.text.hasPrefix("include ") {
            let pattern = String(line.text.dropFirst(8).prefix { $0 != ";" }).trimmingWhitespace()
            let absolute = pattern.hasPrefix("/") ? String(pattern) : "/etc/nginx/" + pattern
            if let glob = try? Glob(absolute) {
                files += context.files(matching: [glob]).map(\.path)
            }
        }
        for file in files {
            // Server blocks by brace depth: a listen without ssl and no https redirect.
            var depth = 0
            var inServer = false
            var serverDepth = 0
            var plainListen: (Int, String)?
            var redirects = false
            for line in lines(of: file, in: context) {
                if !inServer, line.text.hasPrefix("server"), line.text.dropFirst(6).trimmingWhitespace().hasPrefix("{") {
                    inServer = true
                    serverDepth = depth
                    plainListen = nil
                    redirects = false
                }
                if inServer {
                    if line.text.hasPrefix("listen "), !line.text.contains(" ssl"), !line.text.contains("quic") {
                        plainListen = (line.number, line.text)
                    }
                    if (line.text.hasPrefix("return 30") || line.text.hasPrefix("rewrite ")) && line.text.contains("https://") { redirects = true }
                }
                depth += line.text.filter { $0 == "{" }.count - line.text.filter { $0 == "}" }.count
                if inServer, depth <= serverDepth {
                    inServer = false
                    if let plain = plainListen, !redirects {
                        return Verdict(cleartext: true, detail: "is nginx with a cleartext server (\(plain.1)) that does not redirect to https://",
                                       location: Location(path: file, line: plain.0))
                    }
                }
            }
        }
        return Verdict(cleartext: false, detail: "", location: nil)
    }

    func quoted(_ text: String) -> String? {
        guard let open = text.firstIndex(where: { $0 == "\"" || $0 == "'" }) else { return nil }
        let quote = text[open]
        let rest = text[text.index(after: open)...]
        guard let close = rest.firstIndex(of: quote) else { return nil }
        return String(rest[..<close])
    }
}
