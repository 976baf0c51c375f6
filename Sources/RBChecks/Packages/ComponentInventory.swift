import RBCore

/// The components of a firmware tree: installed packages from the dpkg and opkg databases, and
/// the version strings of the components camera images embed without a package manager
/// (BusyBox, OpenSSL, Dropbear, OpenSSH, the Linux kernel, web servers, C libraries, media and
/// network daemons). Only the files a component can live in are read. Built once per target.
public struct ComponentInventory: Sendable {
    public var components: [Component]

    public static func of(_ context: CheckContext) -> ComponentInventory {
        context.target.models.value("components") { ComponentInventory(context: context) }
    }

    /// The inventory when a rule of this scan already built it (RB-PKG-003/004), else nil.
    public static func ifBuilt(_ target: ScanTarget) -> ComponentInventory? {
        target.models.existing("components", as: ComponentInventory.self)
    }

    /// Version strings: component, the files to look in, a pattern whose group `v` is the version
    /// (matched on the file's name instead of its content when it starts with `name:`).
    static let signatures: [(name: String, paths: [String], pattern: String)] = [
        ("busybox", ["{bin,sbin,usr/bin,usr/sbin}/busybox*"], #"BusyBox v(?<v>\d+\.\d+\.\d+)"#),
        ("openssl", ["**/lib{ssl,crypto}.so*", "**/bin/openssl"], #"OpenSSL (?<v>\d+\.\d+\.\d+[a-z]?)\s"#),
        ("dropbear", ["**/{bin,sbin}/dropbear*", "**/{bin,sbin}/dbclient"], #"dropbear_(?<v>\d{4}\.\d+)"#),
        ("openssh", ["**/{bin,sbin}/{sshd,ssh}"], #"OpenSSH_(?<v>\d+\.\d+(p\d+)?)"#),
        ("linux", ["boot/vmlinu*", "boot/{uImage,zImage,Image}*"], #"Linux version (?<v>\d+\.\d+\.\d+)"#),
        ("lighttpd", ["**/{bin,sbin}/lighttpd"], #"lighttpd/(?<v>\d+\.\d+\.\d+)"#),
        ("boa", ["**/{bin,sbin}/boa"], #"Boa/(?<v>\d+\.\d+(\.\d+)?(rc\d+)?)"#),
        ("goahead", ["**/{bin,sbin}/{goahead,webs}", "**/libgo.so*"], #"GoAhead(-Webs)?/(?<v>\d+\.\d+(\.\d+)?)"#),
        ("thttpd", ["**/{bin,sbin}/thttpd"], #"thttpd/(?<v>\d+\.\d+[a-z]?)"#),
        ("uclibc", ["**/lib/libuClibc-*.so", "**/lib/ld-uClibc-*.so"], #"name:uClibc-(?<v>\d+\.\d+\.\d+(\.\d+)?)\.so"#),
        ("glibc", ["**/lib/**/libc.so.6", "**/lib/**/libc-*.so"], #"GNU C Library [^\n]*? version (?<v>\d+\.\d+)"#),
        // musl keeps its version as a bare string (printed by `ld-musl-*.so.1` as "Version %s").
        ("musl", ["**/ld-musl-*.so*", "**/libc.musl-*.so*", "**/*-linux-musl*/libc.so"], #"\x00(?<v>1\.\d\.\d{1,2})\x00"#),
        ("gsoap", ["**/libgsoap*.so*", "**/{bin,sbin}/onvif*"], #"gSOAP/(?<v>\d+\.\d+(\.\d+)?)"#),
        ("live555", ["**/libliveMedia*.so*", "**/{bin,sbin}/*rtsp*"], #"LIVE555 Streaming Media v(?<v>\d{4}\.\d{2}\.\d{2})"#),
        ("curl", ["**/libcurl.so*", "**/bin/curl"], #"libcurl/(?<v>\d+\.\d+\.\d+)"#),
        ("sqlite", ["**/libsqlite3.so*", "**/bin/sqlite3"], #"\x00(?<v>3\.\d{1,2}\.\d{1,2})\x00"#),
        ("miniupnpd", ["**/{bin,sbin}/miniupnpd"], #"miniupnpd/(?<v>\d+\.\d+(\.\d+)?)"#),
        ("dnsmasq", ["**/{bin,sbin}/dnsmasq"], #"dnsmasq-(?<v>\d+\.\d+)"#),
        ("hostapd", ["**/{bin,sbin}/hostapd"], #"hostapd v(?<v>\d+\.\d+(\.\d+)?)"#),
    ]

    static let compiled: [(name: String, paths: [Glob], regex: Regex, inName: Bool)] = signatures.compactMap { entry in
        let inName = entry.pattern.hasPrefix("name:")
        guard let globs = try? PathPatterns.compile(entry.paths, key: "paths"),
              let regex = try? Regex(inName ? String(entry.pattern.dropFirst(5)) : entry.pattern) else { return nil }
        return (entry.name, globs, regex, inName)
    }

    init(context: CheckContext) {
        var found: [Component] = []
        found += Self.packages("var/lib/dpkg/status", source: "dpkg", in: context)
        for database in ["usr/lib/opkg/status", "var/lib/opkg/status"] { found += Self.packages(database, source: "opkg", in: context) }
        var seen = Set<String>()
        for signature in Self.compiled {
            for file in context.files(matching: signature.paths) where file.size < 64 << 20 {
                let bytes: [UInt8]
                if signature.inName {
                    bytes = Array(file.name.utf8)
                } else {
                    guard let content = context.readUnlessBinary(file) ?? context.read(file) else { continue }
                    bytes = content.bytes
                }
                guard let match = signature.regex.matches(in: bytes, limit: 1).first,
                      let range = signature.regex.group(named: "v", in: match) else { continue }
                let version = String(decoding: bytes[range], as: UTF8.self)
                guard seen.insert(signature.name + " " + version).inserted else { continue }
                found.append(Component(name: signature.name, version: version, source: "binary", path: file.path))
            }
        }
        // The kernel's module directory names its release when no kernel image is in the tree.
        if !found.contains(where: { $0.name == "linux" }), let glob = try? Glob("lib/modules/*") {
            for entry in context.tree?.index.entries(matching: [glob]) ?? FileSelection() where entry.type == .directory {
                let release = String(entry.name)
                guard let version = release.split(whereSeparator: { $0 == "-" || $0 == "+" }).first,
                      version.split(separator: ".").count >= 2 else { continue }
                found.append(Component(name: "linux", version: String(version), source: "binary", path: entry.path))
                break
            }
        }
        components = found
    }

    /// Installed packages of a dpkg/opkg status database.
    static func packages(_ path: String, source: String, in context: CheckContext) -> [Component] {
        guard let entry = context.tree?.resolve(path), entry.type == .file, let text = context.readText(entry) else { return [] }
        var result: [Component] = []
        var name = "", version = "", origin = "", originVersion = "", installed = false
        func flush() {
            if installed, !name.isEmpty, !version.isEmpty {
                result.append(Component(name: name, version: version, source: source, path: entry.path,
                                        sourcePackage: origin.isEmpty ? name : origin, sourceVersion: originVersion.isEmpty ? version : originVersion))
            }
            name = ""; version = ""; origin = ""; originVersion = ""; installed = false
        }
        for line in text.splitLines() {
            if line.isEmpty { flush(); continue }
            if line.hasPrefix("Package:") { name = String(line.dropFirst(8).trimmingWhitespace()) }
            if line.hasPrefix("Version:") { version = String(line.dropFirst(8).trimmingWhitespace()) }
            if line.hasPrefix("Status:") { installed = line.hasSuffix(" installed") }
            if line.hasPrefix("Source:") {
                // `Source: glibc` or `Source: glibc (2.36-9)` when the versions differ (binNMUs).
                let value = line.dropFirst(7).trimmingWhitespace()
                let parts = value.split(separator: " ", maxSplits: 1)
                origin = parts.first.map(String.init) ?? ""
                if parts.count == 2 { originVersion = String(parts[1].trimmingCharacters(in: "() ")) }
            }
        }
        flush()
        return result
    }
}
