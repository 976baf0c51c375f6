import RBCore

/// The server certificates an image's web and TLS server configs name: they are the device's own
/// identity, judged wherever they are (a certificate under /etc/ssl/certs is not a CA because of
/// its directory).
///
/// - lighttpd `ssl.pemfile = "…"` (lighttpd docs, mod_openssl);
/// - nginx `ssl_certificate …;` (nginx docs, ngx_http_ssl_module);
/// - Apache-style `SSLCertificateFile …` (mod_ssl; also Boa's SSL builds and GoAhead configs);
/// - stunnel `cert = …` (stunnel.conf(5));
/// - mini_httpd / thttpd `certfile=…`;
/// - OpenWrt uhttpd `option cert '…'` in /etc/config/uhttpd (default /etc/uhttpd.crt when it
///   listens on HTTPS).
enum ServerConfigReferences {
    static let configFiles = ["etc/**/*.conf", "etc/**/*.cnf", "etc/nginx/**", "etc/lighttpd/**", "etc/stunnel/**", "etc/boa/**",
                              "etc/config/uhttpd", "etc/mini_httpd*", "etc/thttpd*", "etc/goahead/**"]

    static let patterns = [
        #"(?m)^\s*ssl\.pemfile\s*=\s*"([^"\n]+)""#,
        #"(?m)^\s*ssl_certificate\s+["']?([^\s;"']+)"#,
        #"(?m)^\s*SSLCertificateFile\s+["']?([^\s"']+)"#,
        #"(?m)^\s*cert\s*=\s*(\S+)"#,
        #"(?m)^\s*certfile\s*=\s*(\S+)"#,
    ]

    static let regexes = patterns.compactMap { try? Regex($0) }
    static let configGlobs = try? PathPatterns.compile(configFiles, key: "paths")

    /// The certificate names of a server config's bytes (not of /etc/config/uhttpd, read as UCI).
    static func names(in bytes: [UInt8]) -> [String] {
        var named: [String] = []
        for regex in regexes {
            for match in regex.matches(in: bytes) {
                guard let group = match.groups.first ?? nil else { continue }
                named.append(String(decoding: bytes[group], as: UTF8.self))
            }
        }
        return named
    }

    /// The configs are searched by the read-ahead pass while it holds them: an image with many
    /// `etc/**/*.conf` files does not read them again for each certificate rule.
    static let analysis = ContentAnalysis(id: "tls.server-config-references", binaries: false, nothing: [String](),
                                          isNothing: { $0.isEmpty }) { names(in: $0) }

    /// What the certificate checks ask the read-ahead pass for.
    static func interests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware, let globs = configGlobs, let entries = context.tree?.index.entries else { return ContentInterests() }
        return ContentInterests(analysis, positions: context.filePositions(matching: globs).filter { entries[$0].size < 1 << 20 })
    }

    /// Image-relative paths (links resolved inside the root) of the certificates named; worked
    /// out once per target (three rules judge the same certificates).
    static func certificates(in context: CheckContext) -> Set<String> {
        guard context.tree != nil, context.kind == .firmware else { return [] }
        return context.target.models.value("tls.server-config-certificates") { findCertificates(in: context) }
    }

    private static func findCertificates(in context: CheckContext) -> Set<String> {
        guard let tree = context.tree, let globs = configGlobs else { return [] }
        var named = Set<String>()
        for file in context.files(matching: globs) where file.type == .file && file.size < 1 << 20 {
            if file.path != "etc/config/uhttpd", let found = context.analysis(analysis.id, of: file) as? [String] {
                named.formUnion(found)
                continue
            }
            guard let bytes = context.readUnlessBinary(file)?.bytes else { continue }
            if file.path == "etc/config/uhttpd" {
                for section in UCIFile(String(decoding: bytes, as: UTF8.self)).sections(ofType: "uhttpd")
                where !section.list("listen_https").isEmpty {
                    named.insert(section.option("cert")?.value ?? "/etc/uhttpd.crt")
                }
                continue
            }
            named.formUnion(names(in: bytes))
        }
        var paths = Set<String>()
        for name in named where name.hasPrefix("/") && !name.contains("$") {
            if let entry = tree.resolve(String(name.dropFirst())), entry.type == .file { paths.insert(entry.path) }
        }
        return paths
    }
}
