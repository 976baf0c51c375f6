import RBCore
import RBCrypto

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
        let distribution = Self.distribution(in: context)
        var dpkg = Self.packages("var/lib/dpkg/status", source: "dpkg", in: context)
        Self.addLicenses(to: &dpkg, in: context)
        found += dpkg
        for database in ["usr/lib/opkg/status", "var/lib/opkg/status"] { found += Self.packages(database, source: "opkg", in: context) }
        var seen = Set<String>()
        for signature in Self.compiled {
            for file in context.files(matching: signature.paths) where file.size < 64 << 20 {
                let bytes: [UInt8]
                var whole = false
                if signature.inName {
                    bytes = Array(file.name.utf8)
                } else {
                    guard let content = context.readUnlessBinary(file) ?? context.read(file) else { continue }
                    bytes = content.bytes
                    whole = !content.truncated
                }
                guard let match = signature.regex.matches(in: bytes, limit: 1).first,
                      let range = signature.regex.group(named: "v", in: match) else { continue }
                let version = String(decoding: bytes[range], as: UTF8.self)
                guard seen.insert(signature.name + " " + version).inserted else { continue }
                var component = Component(name: signature.name, version: version, source: "binary", path: file.path)
                // The file's own hash, from the bytes in hand when they are the whole file.
                if whole { component.sha256 = Digest.sha256Hex(bytes) }
                found.append(component)
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
        Self.assignOwners(&found, in: context)
        if let distribution {
            for i in found.indices { found[i].distribution = distribution }
        }
        components = found
    }

    /// The tree's distribution: `etc/os-release` (or `usr/lib/os-release`), else OpenWrt's
    /// `etc/openwrt_release`, else Debian's `etc/debian_version`; nil when none says.
    static func distribution(in context: CheckContext) -> Component.Distribution? {
        func fields(_ path: String) -> [String: String]? { releaseFields(path, in: context) }
        for path in ["etc/os-release", "usr/lib/os-release"] {
            guard let values = fields(path), let id = values["ID"]?.lowercased(), !id.isEmpty else { continue }
            return Component.Distribution(id: id, versionID: values["VERSION_ID"].flatMap { $0.isEmpty ? nil : $0 }, prettyName: values["PRETTY_NAME"])
        }
        if let values = fields("etc/openwrt_release"), let id = values["DISTRIB_ID"], !id.isEmpty {
            return Component.Distribution(id: id.lowercased(), versionID: values["DISTRIB_RELEASE"], prettyName: values["DISTRIB_DESCRIPTION"])
        }
        if let entry = context.tree?.resolve("etc/debian_version"), entry.type == .file, let text = context.readText(entry),
           let major = text.split(separator: ".").first?.trimmingWhitespace(), !major.isEmpty, major.allSatisfy(\.isNumber) {
            return Component.Distribution(id: "debian", versionID: String(major), prettyName: nil)
        }
        return nil
    }

    /// The `NAME=value` fields of a release file (os-release, OpenWrt's `openwrt_release`), values
    /// unquoted; nil when the tree has no such file.
    static func releaseFields(_ path: String, in context: CheckContext) -> [String: String]? {
        guard let entry = context.tree?.resolve(path), entry.type == .file, let text = context.readText(entry) else { return nil }
        var values: [String: String] = [:]
        for line in text.splitLines(omittingEmpty: true) {
            let pair = line.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            values[String(pair[0])] = pair[1].trimmingCharacters(in: "\"' ")
        }
        return values
    }

    /// Which installed package's file list holds each version-string detection's file (dpkg's
    /// `info/NAME[:ARCH].list`, opkg's `info/NAME.list`), resolving links on the listed paths
    /// (a merged `/usr` lists `/lib/…/libc.so.6` for `usr/lib/…/libc.so.6`).
    static func assignOwners(_ components: inout [Component], in context: CheckContext) {
        guard let tree = context.tree else { return }
        let detections = components.indices.filter { components[$0].source == "binary" }
        guard !detections.isEmpty else { return }
        var wanted: [String: [Int]] = [:]
        var names = Set<Substring>()
        for i in detections {
            let path = tree.resolve(components[i].path)?.path ?? components[i].path
            wanted[path, default: []].append(i)
            names.insert(FileEntry.lastComponent(of: path))
        }
        let installed = Set(components.filter { $0.source != "binary" }.map(\.name))
        let lists = (try? PathPatterns.compile(["var/lib/dpkg/info/*.list", "{usr,var}/lib/opkg/info/*.list"], key: "paths")) ?? []
        for list in context.files(matching: lists) {
            let base = list.name.dropLast(".list".count)
            let package = String(base.split(separator: ":").first ?? base)
            guard installed.contains(package), let content = context.read(list), !content.truncated else { continue }
            let bytes = content.bytes
            // Only the lines ending in a detection's file name matter: found by byte search, not
            // by splitting every list (a Debian root lists tens of thousands of paths).
            for name in names {
                let needle = Array(("/" + name).utf8)
                var from = 0
                while let at = ByteSearch.firstIndex(of: needle, in: bytes, range: from..<bytes.count) {
                    let end = at + needle.count
                    from = end
                    guard end == bytes.count || bytes[end] == 0x0a || bytes[end] == 0x09 || bytes[end] == 0x0d else { continue }
                    var start = at
                    while start > 0, bytes[start - 1] != 0x0a { start -= 1 }
                    let relative = String(decoding: bytes[start..<end], as: UTF8.self).drop { $0 == "/" }
                    let path = tree.resolve(String(relative))?.path ?? String(relative)
                    for i in wanted[path] ?? [] where components[i].ownedBy == nil { components[i].ownedBy = package }
                }
            }
        }
    }

    /// Licences of dpkg packages from `usr/share/doc/NAME/copyright`: the `License:` fields of a
    /// machine-readable file (DEP-5), else the `/usr/share/common-licenses/…` it refers to.
    static func addLicenses(to packages: inout [Component], in context: CheckContext) {
        var byFile: [String: [String]] = [:]
        for i in packages.indices {
            guard let entry = context.tree?.resolve("usr/share/doc/" + packages[i].name + "/copyright"), entry.type == .file,
                  entry.size < 4 << 20 else { continue }
            if byFile[entry.path] == nil { byFile[entry.path] = context.read(entry).map { DebianCopyright.licenses($0.bytes) } ?? [] }
            if let licenses = byFile[entry.path], !licenses.isEmpty { packages[i].licenses = licenses }
        }
    }

    /// Installed packages of a dpkg/opkg status database, with their dependencies on each other.
    static func packages(_ path: String, source: String, in context: CheckContext) -> [Component] {
        guard let entry = context.tree?.resolve(path), entry.type == .file, let text = context.readText(entry) else { return [] }
        var result: [Component] = []
        var depends: [[[Substring]]] = []
        var provides: [String: [String]] = [:]
        var name = "", version = "", origin = "", originVersion = "", architecture = "", installed = false
        var relations: [Substring] = [], provided: [Substring] = []
        func flush() {
            if installed, !name.isEmpty, !version.isEmpty {
                var component = Component(name: name, version: version, source: source, path: entry.path,
                                          sourcePackage: origin.isEmpty ? name : origin, sourceVersion: originVersion.isEmpty ? version : originVersion)
                component.architecture = architecture.isEmpty ? nil : architecture
                result.append(component)
                depends.append(relations.map(Self.alternatives))
                for virtual in provided { provides[String(Self.packageName(virtual)), default: []].append(name) }
            }
            name = ""; version = ""; origin = ""; originVersion = ""; architecture = ""; installed = false
            relations = []; provided = []
        }
        func list(_ value: Substring) -> [Substring] {
            value.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        }
        for line in text.splitLines() {
            if line.isEmpty { flush(); continue }
            if line.hasPrefix("Package:") { name = String(line.dropFirst(8).trimmingWhitespace()) }
            if line.hasPrefix("Version:") { version = String(line.dropFirst(8).trimmingWhitespace()) }
            if line.hasPrefix("Architecture:") { architecture = String(line.dropFirst(13).trimmingWhitespace()) }
            if line.hasPrefix("Status:") { installed = line.hasSuffix(" installed") }
            if line.hasPrefix("Depends:") { relations += list(line.dropFirst(8)) }
            if line.hasPrefix("Pre-Depends:") { relations += list(line.dropFirst(12)) }
            if line.hasPrefix("Provides:") { provided += list(line.dropFirst(9)) }
            if line.hasPrefix("Source:") {
                // `Source: glibc` or `Source: glibc (2.36-9)` when the versions differ (binNMUs).
                let value = line.dropFirst(7).trimmingWhitespace()
                let parts = value.split(separator: " ", maxSplits: 1)
                origin = parts.first.map(String.init) ?? ""
                if parts.count == 2 { originVersion = String(parts[1].trimmingCharacters(in: "() ")) }
            }
        }
        flush()
        // Each relation: its first alternative that is installed, or provided by an installed package.
        let names = Set(result.map(\.name))
        for i in result.indices {
            var targets = Set<String>()
            for group in depends[i] {
                for alternative in group {
                    let wanted = String(alternative)
                    if names.contains(wanted) { targets.insert(wanted); break }
                    if let provider = provides[wanted]?.sorted().first { targets.insert(provider); break }
                }
            }
            targets.remove(result[i].name)
            if !targets.isEmpty { result[i].dependsOn = targets.sorted() }
        }
        return result
    }

    /// `libc6 (>= 2.34) | libc6.1:any` → `[libc6, libc6.1]`: the package names of one relation.
    static func alternatives(_ relation: Substring) -> [Substring] {
        relation.split(separator: "|").map { packageName($0) }.filter { !$0.isEmpty }
    }

    /// The name in `perl:any (>= 5.36) [amd64] <!nocheck>`: up to a space, `(`, `[`, `<` or `:`.
    static func packageName(_ text: Substring) -> Substring {
        let trimmed = text.trimmingWhitespace()
        return trimmed.prefix { !" ([<:\t".contains($0) }
    }
}
