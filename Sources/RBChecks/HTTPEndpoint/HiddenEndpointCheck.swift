import RBCore
#if canImport(Glibc)
import Glibc
#endif

/// `web.hidden-endpoints`: the web endpoints a firmware implements that its vendor does not
/// document (RB-IFC-007, firmware side). Implemented endpoints are
/// - the files under the web roots (`www/cgi-bin/diag.cgi` serves `/cgi-bin/diag.cgi`), and
/// - path literals in the web server and CGI binaries that start a C string (after a NUL, a
///   quote or white space) with `/cgi-bin`, `/ISAPI`, `/SDK`, `/PSIA`, `/onvif`, `/api`,
///   `/debug`, `/factory` or `/test`.
/// The device profile's documented paths (its `documentedPaths`, sensitive paths and ONVIF
/// paths) are taken away. A leftover whose name says debug, backdoor, factory, telnet, shell,
/// exec, cmd or test fails: a factory or debug handler shipped in the release image. The other
/// leftovers are listed for review, one result per file that implements them; the endpoint scan
/// is where they are asked whether they answer without authentication.
public struct HiddenEndpointCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Web roots (directories whose files are served at `/`).
        var webRoots: [String]?
        /// Binaries whose path literals are endpoints (besides the web servers started at boot).
        var binaries: [String]?
        /// Extra documented paths (added to the profile's).
        var documented: [String]?
    }

    public static let id = "web.hidden-endpoints"
    public static let summary = "Lists web endpoints implemented in the firmware but not documented; debug/factory ones fail."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    static let prefixes = ["cgi-bin", "ISAPI", "SDK", "PSIA", "onvif", "api", "debug", "factory", "test"].map { Array($0.utf8) }
    static let suspicious = try? Regex(#"(?i)debug|backdoor|factory|telnet|shell|exec|cmd|test"#)
    static let handlerSuffixes = [".cgi", ".sh", ".lua", ".php", ".asp", ".aspx", ".jsp", ".fcgi", ".pl", ".py"]
    /// Pages and assets a web server sends as they are.
    static let staticSuffixes = [".htm", ".html", ".css", ".js", ".json", ".xml", ".txt", ".gif", ".png", ".jpg", ".jpeg", ".ico",
                                 ".svg", ".bmp", ".woff", ".woff2", ".ttf", ".eot", ".map", ".swf", ".jar", ".cab", ".gz"]
    static let webServers = Set(["httpd", "lighttpd", "boa", "goahead", "webs", "uhttpd", "mini_httpd", "thttpd", "nginx", "appweb"])

    let webRoots: [String]
    let binaries: [Glob]
    let documented: [String]

    public init(options: Options) throws(CheckOptionError) {
        webRoots = (options.webRoots ?? ["www", "var/www", "usr/www", "web", "home/www", "usr/share/www", "opt/www"])
            .map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        binaries = try PathPatterns.compile(options.binaries ?? ["**/cgi-bin/**", "**/*.cgi"], key: "binaries")
        documented = options.documented ?? []
    }

    /// An endpoint and where it was found.
    struct Endpoint: Hashable {
        var path: String
        var source: String
    }

    /// Whether a file starts like a program: an ELF header or a `#!` interpreter line.
    static func isProgram(_ file: FileEntry, in context: CheckContext) -> Bool {
        // What the read-ahead pass kept (a binary's first bytes, a text file's content), else
        // the file's first block.
        var head = context.head(of: file) ?? context.cachedContent(file).map { Array($0.bytes.prefix(4)) } ?? []
        if head.isEmpty {
            context.stream(file, chunk: 4096, overlap: 0) { piece, _ in
                head = Array(piece.prefix(4))
                return false
            }
        }
        return head.starts(with: [0x7f, 0x45, 0x4c, 0x46]) || head.starts(with: [0x23, 0x21])
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let tree = context.tree else { return [] }
        var found: [Endpoint] = []
        // Files under the web roots.
        for root in webRoots where tree.index.entry(at: root)?.type == .directory || tree.resolve(root)?.type == .directory {
            guard let glob = try? Glob(root + "/**") else { continue }
            for file in context.files(matching: [glob]) {
                guard file.path.hasPrefix(root + "/") else { continue }
                let url = "/" + file.path.dropFirst(root.count + 1)
                // Handlers count; static pages and assets only when their name says debug/test. The
                // execute bit alone does not make a stylesheet a handler: images whose web files
                // are all 0777 (TP-Link's) listed 150 help pages and stylesheets for review.
                let lower = url.lowercased()
                let asset = Self.staticSuffixes.contains { lower.hasSuffix($0) }
                // Nor does it make a data file one (TP-Link's 0777 `web/oem/model.conf`): an
                // executable is a handler when it is a program (an ELF binary or a `#!` script).
                let handler = url.hasPrefix("/cgi-bin/") || Self.handlerSuffixes.contains { url.hasSuffix($0) }
                    || (file.mode & 0o111 != 0 && !asset && Self.isProgram(file, in: context))
                guard handler || (Self.suspicious?.hasMatch(in: Array(url.utf8)) ?? false) else { continue }
                found.append(Endpoint(path: url, source: file.path))
            }
        }
        // Path literals in the web servers started at boot and the CGI binaries.
        var programs = Set(context.files(matching: binaries).map(\.path))
        for start in BootServices.of(context).starts where Self.webServers.contains(start.program) {
            for candidate in [start.executable].compactMap({ $0 }) + ["/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"].map({ $0 + start.program }) {
                if let entry = tree.resolve(BootServices.Builder.relative(candidate)), entry.type == .file {
                    programs.insert(entry.path)
                    break
                }
            }
        }
        for path in programs.sorted() {
            guard let entry = tree.index.entry(at: path) else { continue }
            var literals = Set<String>()
            context.stream(entry, overlap: 256) { piece, _ in
                Self.literals(in: piece, into: &literals)
                return literals.count < 5000
            }
            found += literals.map { Endpoint(path: $0, source: path) }
        }
        let documentedPaths = (context.target.profile?.allDocumentedPaths ?? DeviceProfile.defaultDocumentedPaths) + documented
        var leftovers: [String: [String]] = [:]   // source → paths
        var observations: [Observation] = []
        for endpoint in Set(found).sorted(by: { ($0.source, $0.path) < ($1.source, $1.path) })
        where !DeviceProfile.isDocumented(endpoint.path, by: documentedPaths) {
            if let suspicious = Self.suspicious, suspicious.hasMatch(in: Array(endpoint.path.utf8)) {
                observations.append(Observation(
                    message: "\(endpoint.source) implements the undocumented web endpoint \(endpoint.path) (debug/factory/test handler in a release image)",
                    location: Location(path: endpoint.source),
                    evidence: Evidence(key: "hidden-endpoint:" + endpoint.path, snippet: endpoint.path, facts: ["endpoint": endpoint.path])))
            } else {
                leftovers[endpoint.source, default: []].append(endpoint.path)
            }
        }
        for (source, paths) in leftovers.sorted(by: { $0.key < $1.key }) {
            observations.append(Observation(
                status: .review, severity: .low,
                message: "\(source) implements \(paths.count) web endpoint(s) the device profile does not document: \(paths.prefix(8).joined(separator: ", "))\(paths.count > 8 ? ", …" : "")",
                location: Location(path: source),
                evidence: Evidence(key: "undocumented-endpoints:" + source, facts: ["count": String(paths.count), "paths": paths.prefix(64).joined(separator: " ")])))
        }
        return observations
    }

    /// Appends the endpoint-like strings of `bytes`: `/PREFIX…` starting a string.
    static func literals(in bytes: UnsafeBufferPointer<UInt8>, into result: inout Set<String>) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count, let hit = memchr(base + offset, Int32(UInt8(ascii: "/")), bytes.count - offset) {
            let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            offset = at + 1
            if at > 0 {
                let before = bytes[at - 1]
                guard before == 0 || before == 34 || before == 39 || before == 32 || before == 9 || before == 10 else { continue }
            }
            guard let prefix = prefixes.first(where: { p in
                at + 1 + p.count <= bytes.count && (0..<p.count).allSatisfy { bytes[at + 1 + $0] == p[$0] }
            }) else { continue }
            var end = at + 1 + prefix.count
            while end < bytes.count, isPathByte(bytes[end]) { end += 1 }
            // The prefix must end the first component (`/api/x`, `/api`), not begin a word (`/apiary`).
            let next = at + 1 + prefix.count < bytes.count ? bytes[at + 1 + prefix.count] : 0
            guard next == UInt8(ascii: "/") || next == UInt8(ascii: "_") || next == UInt8(ascii: ".") || !isPathByte(next) || prefix == Array("cgi-bin".utf8) else { continue }
            // A literal running into the piece's end is found whole in the next (overlapping) piece.
            guard end < bytes.count else { break }
            let terminator = bytes[end]
            guard terminator == 0 || terminator == 34 || terminator == 39 || terminator == 63 || terminator == 32 || terminator == 10 else { continue }
            // `/cgi-bin` or `/cgi-bin/` alone is the server's handler prefix (its CGI directory
            // setting, as in uhttpd), not an endpoint.
            guard end > at + 1 + prefix.count + 1 else { offset = end; continue }
            let path = String(decoding: bytes[at..<end], as: UTF8.self)
            if path.count >= 4, path.count <= 128 { result.insert(path) }
            offset = end
        }
    }

    static func isPathByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }
}
