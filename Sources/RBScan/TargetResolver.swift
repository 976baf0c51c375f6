import RBCore
import RBImages

#if canImport(Glibc)
import Glibc
#endif

/// Turns the user's target specs into `ScanTarget`s. A directory is an extracted root filesystem;
/// a regular file is a firmware image when its content says so (`ImageFormats`), else a config
/// file; `SCHEME://HOST:PORT` is an endpoint when a probe answers for the scheme
/// (`EndpointProbes`); `host://NAME` or an IP literal is a host whose ports are swept; other
/// schemes are reported as unsupported instead of passing silently.
public struct TargetResolver {
    public let limits: ScanLimits

    public init(limits: ScanLimits) { self.limits = limits }

    /// `labels`: an inventory's name and tags per target as given; every target a spec
    /// resolves to (each filesystem of an image) carries them.
    public func resolve(_ specs: [String], labels: [String: TargetLabel] = [:]) -> (targets: [ScanTarget], diagnostics: [Diagnostic]) {
        var targets: [ScanTarget] = []
        var diagnostics: [Diagnostic] = []
        var usedIDs = Set<String>()
        for spec in specs {
            let before = targets.count
            resolve(spec, into: &targets, &diagnostics, &usedIDs)
            if let label = labels[spec] {
                for i in before..<targets.count {
                    targets[i].name = label.name
                    targets[i].tags = label.tags
                }
            }
        }
        return (targets, diagnostics)
    }

    private func resolve(_ given: String, into targets: inout [ScanTarget], _ diagnostics: inout [Diagnostic], _ usedIDs: inout Set<String>) {
        var spec = given
        // An IP literal that is not a path here is a host to sweep.
        if access(spec, F_OK) != 0, Self.isIPLiteral(spec) {
            spec = "host://" + (spec.contains(":") && !spec.hasPrefix("[") ? "[\(spec)]" : spec)
        }
        if spec.hasPrefix("host://") {
            var name = Substring(spec.dropFirst(7))
            while name.hasSuffix("/") { name = name.dropLast() }
            guard let endpoint = Endpoint(parsing: "host://" + name + ":1"), !name.contains(":") || name.hasPrefix("[") else {
                diagnostics.append(Diagnostic(.error, .target, code: "target.invalid",
                    "expected host://NAME or an IP address (IPv6 as [::1]); ports go in --ports", at: SourceLocation(file: spec)))
                return
            }
            var target = ScanTarget(spec: "host://" + (endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host), kind: .endpoint,
                                    tree: nil, baseID: Self.uniqueID(for: "H_" + endpoint.host, used: &usedIDs), baseURI: nil)
            target.endpoint = Endpoint(scheme: "host", host: endpoint.host, port: 0)
            targets.append(target)
            return
        }
        if let scheme = Self.endpointScheme(spec) {
            guard EndpointProbes.probe(for: scheme) != nil else {
                diagnostics.append(Diagnostic(.error, .target, code: "target.unsupported",
                    "\(scheme):// endpoints are not supported by this build yet (\(EndpointProbes.schemeList), hosts, firmware and config files are)",
                    at: SourceLocation(file: spec)))
                return
            }
            guard let endpoint = Endpoint(parsing: spec) else {
                diagnostics.append(Diagnostic(.error, .target, code: "target.invalid",
                    "expected \(scheme)://HOST:PORT (HOST a name, an IPv4 address or [IPv6]; PORT 1-65535)",
                    at: SourceLocation(file: spec)))
                return
            }
            var target = ScanTarget(spec: endpoint.uri, kind: .endpoint, tree: nil,
                                    baseID: Self.uniqueID(for: endpoint.host + "_" + String(endpoint.port), used: &usedIDs),
                                    baseURI: nil)
            target.endpoint = endpoint
            targets.append(target)
            return
        }
        let kind = HostFiles.kind(of: spec)
        do {
            let baseID = Self.uniqueID(for: spec, used: &usedIDs)
            switch kind {
            case .directory:
                let tree = try DirectoryTree(directory: spec, limits: limits)
                targets.append(ScanTarget(spec: spec, kind: .firmware, tree: tree, baseID: baseID,
                                          baseURI: Self.fileURI(spec, directory: true)))
            case .regularFile:
                let tree = try DirectoryTree(file: spec)
                if let entry = tree.index.entries.last, entry.size == 0 {
                    // A failed download or a truncated copy: nothing to scan is never a pass.
                    diagnostics.append(Diagnostic(.error, .target, code: "target.empty", "empty file: nothing to scan",
                                                  at: SourceLocation(file: spec)))
                    return
                }
                if let entry = tree.index.entries.last,
                   let head = try? tree.read(entry, limit: 65536), let format = Self.binaryFormat(head.bytes) {
                    // A binary file is an image (or nothing we can read), never a config file.
                    let (images, problems) = resolveImage(spec, looksLike: format, used: &usedIDs)
                    targets += images
                    diagnostics += problems
                    return
                }
                let parent = spec.contains("/") ? String(spec[..<spec.lastIndex(of: "/")!]) : "."
                targets.append(ScanTarget(spec: spec, kind: .config, tree: tree, baseID: baseID,
                                          baseURI: Self.fileURI(parent.isEmpty ? "/" : parent, directory: true)))
            case .missing:
                if let range = spec.range(of: "://"), !spec[..<range.lowerBound].isEmpty,
                   spec[..<range.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || "+.-".contains($0) }) {
                    diagnostics.append(Diagnostic(.error, .target, code: "target.unsupported-scheme",
                        "unsupported scheme \(spec[..<range.lowerBound])://: rbscan scans \(EndpointProbes.schemeList) and host:// endpoints, firmware images, directories and config files",
                        at: SourceLocation(file: spec)))
                } else if !spec.contains("/"), !spec.contains("."), spec.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                    diagnostics.append(Diagnostic(.error, .target, code: "target.unsupported",
                        "no such file or directory; host endpoints are not supported by this build yet", at: SourceLocation(file: spec)))
                } else {
                    diagnostics.append(Diagnostic(.error, .target, code: "target.not-found",
                                                  "no such file or directory", at: SourceLocation(file: spec)))
                }
            case .other:
                diagnostics.append(Diagnostic(.error, .target, code: "target.unrecognised",
                    "neither a directory nor a regular file", at: SourceLocation(file: spec)))
            }
        } catch {
            diagnostics.append(Diagnostic(.error, .target, code: "target.unreadable", error.message,
                                          at: SourceLocation(file: spec)))
        }
    }

    /// Every filesystem found in an image file becomes a firmware target, named by its container
    /// chain. An image with nothing readable is a target error (exit 2); problems in part of
    /// an image that was otherwise scanned are check errors (exit 3).
    func resolveImage(_ spec: String, looksLike format: String, used: inout Set<String>) -> ([ScanTarget], [Diagnostic]) {
        let analysis: ImageAnalysis
        do {
            analysis = try ImageScanner(limits: limits).analyze(path: spec)
        } catch {
            return ([], [Diagnostic(.error, .target, code: "target.unreadable", error.description, at: SourceLocation(file: spec))])
        }
        let filesystems = analysis.filesystems
        var targets: [ScanTarget] = []
        for (chain, node) in filesystems {
            guard let tree = node.tree else { continue }
            let id = Self.uniqueID(for: spec + "_" + node.format + "_" + String(node.offset, radix: 16), used: &used)
            var target = ScanTarget(spec: chain.joined(separator: " → "), kind: .firmware, tree: tree, baseID: id,
                                    baseURI: nil, containers: chain)
            if targets.isEmpty { target.imageFile = spec }   // the image's own checks run once
            targets.append(target)
        }
        var diagnostics = analysis.diagnostics
        if targets.isEmpty {
            diagnostics = diagnostics.map { var d = $0; d.domain = .target; return d }
            let what = analysis.unrecognisedDescription ?? "no readable filesystem found (rbscan inspect shows what is inside)"
            diagnostics.append(Diagnostic(.error, .target, code: "target.no-filesystem", "\(format): \(what)", at: SourceLocation(file: spec)))
        }
        return (targets, diagnostics)
    }

    /// What a binary file looks like, from its first bytes (the image format table); nil for
    /// text (a config file).
    static func binaryFormat(_ bytes: [UInt8]) -> String? {
        if let format = ImageFormats.atStart(bytes) { return format.summary }
        if ByteScan.hasNUL(bytes, within: 8192) { return "a binary file of unknown format" }
        return nil
    }

    /// `192.0.2.10`, `[2001:db8::1]`, `::1`.
    static func isIPLiteral(_ spec: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        let bare = spec.hasPrefix("[") && spec.hasSuffix("]") ? String(spec.dropFirst().dropLast()) : spec
        return inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
    }

    /// The scheme of an endpoint spec: one a probe answers for, or one rbscan knows as a device
    /// service without probing it yet (said so, rather than "no such file").
    static func endpointScheme(_ spec: String) -> String? {
        for scheme in EndpointProbes.schemes + knownUnprobed where spec.hasPrefix(scheme + "://") {
            return scheme
        }
        return nil
    }

    /// Services cameras offer that no probe reads as a target of its own (a host sweep still
    /// finds and judges them).
    public static let knownUnprobed = ["telnet"]

    /// A SARIF `uriBaseId` from the target's name: `rootfs/` → `ROOTFS`, unique in the run.
    public static func uniqueID(for spec: String, used: inout Set<String>) -> String {
        let trimmed = spec.hasSuffix("/") && spec.count > 1 ? String(spec.dropLast()) : spec
        let base = trimmed.split(separator: "/").last.map(String.init) ?? "TARGET"
        var id = String(base.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        if id.isEmpty || id.first!.isNumber { id = "T_" + id }
        var candidate = id
        var n = 2
        while !used.insert(candidate).inserted {
            candidate = "\(id)_\(n)"
            n += 1
        }
        return candidate
    }

    /// `file:///abs/path/` for a host path.
    static func fileURI(_ path: String, directory: Bool) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        var absolute = String(cString: resolved)
        if directory && !absolute.hasSuffix("/") { absolute += "/" }
        var out = "file://"
        for byte in absolute.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "-._~/".contains(c)) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// A target's name and tags from an inventory.
public struct TargetLabel: Sendable {
    public var name: String
    public var tags: [String]

    public init(name: String, tags: [String]) {
        self.name = name
        self.tags = tags
    }
}
