import RBCore
import RBCrypto

/// `package.manifest`: installed files against their package manifests (RB-PKG-007).
/// - dpkg: `var/lib/dpkg/info/*.md5sums` (paths relative to `/`) and the `Conffiles:` hashes of
///   `var/lib/dpkg/status`, with `var/lib/dpkg/diversions` followed (a diverted file is checked
///   where it was moved to);
/// - opkg/ipkg: the `Conffiles:` hashes of `usr/lib/opkg/status` (MD5 or SHA-256 by length) and
///   the file lists `usr/lib/opkg/info/*.list` (presence);
/// - plain manifests: `SHA256SUMS`, `*.sha256`, `md5sums`, `*.md5` in `sha256sum -c` format,
///   paths relative to the manifest's directory.
/// A listed file with another hash fails (modified after packaging), a missing one fails medium,
/// a changed conffile is info (configuration is meant to change). Each finding is at the file's
/// own path, with the manifest and the package in the evidence. Files are hashed with OpenSSL,
/// each read once, in parallel; links resolve inside the root only.
public struct PackageManifestCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Plain manifests (`sha256sum -c` format).
        var manifests: [String]?
    }

    public static let id = "package.manifest"
    public static let summary = "Hashes installed files against dpkg, opkg and SHA256SUMS-style manifests."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let manifests: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        manifests = try PathPatterns.compile(options.manifests ?? ["**/SHA256SUMS", "**/sha256sums", "**/*.sha256", "**/MD5SUMS"],
                                             key: "manifests")
    }

    /// Verifies every listed file; the digests come from the read-ahead pass (`contentInterests`),
    /// so what is left is looking each file up.
    public var costHint: Int { 40 }

    /// One file a manifest expects.
    struct Expected: Sendable {
        var path: String          // tree-relative, as listed
        var digest: [UInt8]?      // nil: presence only
        var conffile: Bool
        var manifest: String
        var package: String
    }

    /// The manifests' expectations for one target, read once and shared by `contentInterests`
    /// and `run`.
    struct Plan: Sendable {
        var expected: [Expected]
        var diversions: [String: Diversion]
        /// Each expected file resolved in the tree (its diversion followed), by position in the
        /// index; nil: missing. Resolved once for the pass's interests and the verification.
        var resolved: [Int?] = []
        /// Where each expected file is looked for (its diversion followed).
        func path(of item: Expected) -> String {
            if let diversion = diversions[item.path], diversion.package != item.package { return diversion.to }
            return item.path
        }
    }

    struct Diversion: Sendable {
        var to: String
        var package: String
    }

    func plan(in context: CheckContext) -> Plan {
        let key = "package.manifest\u{0}" + manifests.map(\.pattern).joined(separator: "\u{0}")
        return context.target.models.value(key) {
            var expected: [Expected] = []
            expected += dpkg(in: context)
            expected += opkg(in: context)
            expected += plain(in: context)
            var plan = Plan(expected: expected, diversions: expected.isEmpty ? [:] : Self.diversions(in: context))
            if let index = context.tree?.index {
                plan.resolved = expected.map { index.resolve(plan.path(of: $0)).flatMap { index.position(of: $0.path) } }
            }
            return plan
        }
    }

    /// The digests of every listed file, computed by the engine's read-ahead pass.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard let tree = context.tree else { return ContentInterests() }
        let plan = plan(in: context)
        var interests = ContentInterests()
        for (item, position) in zip(plan.expected, plan.resolved) {
            guard let digest = item.digest, let algorithm = DigestAlgorithm(digestLength: digest.count),
                  let position, case let entry = tree.index.entries[position], entry.type == .file else { continue }
            interests.digests[entry.path, default: []].insert(algorithm)
        }
        return interests
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let tree = context.tree else { return [] }
        let plan = plan(in: context)
        let expected = plan.expected
        guard !expected.isEmpty else { return [] }
        // Hash in batches on the engine's workers (files the read-ahead pass hashed are looked
        // up); results keep the manifest order.
        let batches = stride(from: 0, to: expected.count, by: 64).map { $0..<min($0 + 64, expected.count) }
        var parts = [[Observation]](repeating: [], count: batches.count)
        await withTaskGroup(of: (Int, [Observation]).self) { group in
            for (i, batch) in batches.enumerated() {
                group.addTask {
                    (i, batch.compactMap { Self.verify(expected[$0], at: plan.resolved[$0].map { tree.index.entries[$0] },
                                                       plan: plan, context: context) })
                }
            }
            for await (i, part) in group { parts[i] = part }
        }
        return parts.flatMap { $0 }
    }

    /// The observation for one expected file, or nil when it matches.
    static func verify(_ item: Expected, at resolved: FileEntry?, plan: Plan, context: CheckContext) -> Observation? {
        // Made only for a finding (most listed files match).
        var facts: [String: String] { ["manifest": item.manifest, "package": item.package, "listedPath": item.path] }
        guard let entry = resolved else {
            let path = plan.path(of: item)
            // A conffile the administrator removed is configuration, not tampering.
            return Observation(severity: item.conffile ? .info : .medium,
                               message: "\(path) is listed by \(item.package) (\(item.manifest)) but missing from the image",
                               location: Location(path: path), evidence: Evidence(key: "missing:" + item.package, facts: facts))
        }
        guard let digest = item.digest else { return nil }
        guard entry.type == .file else { return nil }   // dpkg lists no directories; a listed link target is a file
        guard let actual = hash(entry, length: digest.count, context: context) else { return nil }
        guard actual != digest else { return nil }
        var evidence = facts
        evidence["expected"] = Hex.encode(digest)
        evidence["actual"] = Hex.encode(actual)
        if item.conffile {
            return Observation(severity: .info, message: "conffile \(entry.path) of \(item.package) differs from the packaged one",
                               location: Location(path: entry.path), evidence: Evidence(key: "conffile:" + item.package, facts: evidence))
        }
        return Observation(message: "\(entry.path) differs from what \(item.package) installed (\(item.manifest)): modified after packaging",
                           location: Location(path: entry.path), evidence: Evidence(key: "modified:" + item.package, facts: evidence))
    }

    /// MD5 (16 bytes) or SHA-256 (32) of a file: computed by the read-ahead pass, else read once
    /// in pieces (or taken from the shared cache). A file larger than the read limit is not
    /// judged on its first bytes: that is reported, and nil returned.
    static func hash(_ entry: FileEntry, length: Int, context: CheckContext) -> [UInt8]? {
        guard let algorithm = DigestAlgorithm(digestLength: length) else { return nil }
        if let known = context.cachedDigest(entry, algorithm) { return known }
        guard entry.size <= UInt64(context.limits.maxFileBytes) else {
            context.report("not verified: larger than the read limit (\(context.limits.maxFileBytes) bytes)", path: entry.path,
                           code: "check.file-truncated")
            return nil
        }
        let digest = Digest(algorithm.algorithm)
        if let kept = context.cachedContent(entry) {
            digest.update(kept.bytes)
        } else {
            guard context.stream(entry, overlap: 0, { piece, _ in
                digest.update(UnsafeRawBufferPointer(piece))
                return true
            }) else { return nil }
        }
        return digest.finalize()
    }

    /// `/a/b` or `a/b` → `a/b`.
    static func relative(_ path: Substring) -> String {
        let bytes = path.utf8
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == UInt8(ascii: "/") { start = bytes.index(after: start) }
        return String(path[start...])
    }

    /// Lines of a text file in the tree.
    static func lines(_ path: String, in context: CheckContext) -> [Substring]? {
        guard let entry = context.tree?.resolve(path), entry.type == .file, let text = context.readText(entry) else { return nil }
        return text.splitLines()
    }

    /// `HASH  PATH` lines (`sha256sum`/`md5sum` output; `*PATH` binary mode too).
    static func sumLines(_ lines: [Substring], base: String, manifest: String, package: String, conffiles: Set<String>) -> [Expected] {
        var result: [Expected] = []
        result.reserveCapacity(lines.count)
        // Byte by byte (a dpkg root lists thousands of lines): the separators are ASCII, so
        // the UTF-8 view gives the same pieces as characters would, without grapheme breaking.
        for line in lines {
            let bytes = line.utf8
            guard let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { continue }
            let hashLength = bytes.distance(from: bytes.startIndex, to: space)
            guard hashLength == 32 || hashLength == 64, let digest = Hex.decode(digits: bytes[..<space]) else { continue }
            var start = space
            while start < bytes.endIndex, bytes[start] == UInt8(ascii: " ") { start = bytes.index(after: start) }
            if start < bytes.endIndex, bytes[start] == UInt8(ascii: "*") { start = bytes.index(after: start) }
            guard start < bytes.endIndex else { continue }
            let name = line[start...]
            let path = base.isEmpty ? relative(name) : base + "/" + relative(name)
            result.append(Expected(path: path, digest: digest, conffile: conffiles.contains(path), manifest: manifest, package: package))
        }
        return result
    }

    /// dpkg: md5sums per package, conffile hashes from the status database.
    func dpkg(in context: CheckContext) -> [Expected] {
        guard let glob = try? Glob("var/lib/dpkg/info/*.md5sums") else { return [] }
        var result: [Expected] = []
        for file in context.files(matching: [glob]) {
            let name = String(file.name.dropLast(".md5sums".count))
            let package = String(name.split(separator: ":").first ?? Substring(name))
            guard let lines = Self.lines(file.path, in: context) else { continue }
            result += Self.sumLines(lines, base: "", manifest: file.path, package: package, conffiles: [])
        }
        result += Self.statusConffiles("var/lib/dpkg/status", in: context)
        return result
    }

    /// The `Conffiles:` of a dpkg or opkg status database: ` /etc/x HASH` lines per package
    /// (dpkg marks removed or obsolete ones: those are skipped).
    static func statusConffiles(_ path: String, in context: CheckContext) -> [Expected] {
        guard let lines = lines(path, in: context) else { return [] }
        var result: [Expected] = []
        var package = ""
        var installed = true
        var inConffiles = false
        for line in lines {
            if line.isEmpty { package = ""; installed = true; inConffiles = false; continue }
            if line.hasPrefix("Package:") { package = String(line.dropFirst(8)).trimmingWhitespace().description; inConffiles = false; continue }
            if line.hasPrefix("Status:") { installed = line.hasSuffix(" installed"); continue }
            if line.hasPrefix("Conffiles:") { inConffiles = true; continue }
            guard inConffiles, line.hasPrefix(" ") else { inConffiles = false; continue }
            let words = line.split(separator: " ")
            guard installed, words.count >= 2, !words.contains("obsolete"), !words.contains("remove-on-upgrade"),
                  let digest = Hex.decode(String(words[1])), digest.count == 16 || digest.count == 32 else { continue }
            result.append(Expected(path: relative(words[0]), digest: digest, conffile: true, manifest: path, package: package))
        }
        return result
    }

    /// dpkg diversions: `from`, `to`, `package` line triples.
    static func diversions(in context: CheckContext) -> [String: Diversion] {
        guard let lines = lines("var/lib/dpkg/diversions", in: context) else { return [:] }
        var result: [String: Diversion] = [:]
        var i = 0
        while i + 2 < lines.count {
            result[relative(lines[i])] = Diversion(to: relative(lines[i + 1]), package: String(lines[i + 2]))
            i += 3
        }
        return result
    }

    /// opkg: conffile hashes from the status database, and the file lists (presence).
    func opkg(in context: CheckContext) -> [Expected] {
        var result: [Expected] = []
        for root in ["usr/lib/opkg", "var/lib/opkg", "usr/lib/ipkg"] {
            result += Self.statusConffiles(root + "/status", in: context)
            guard let glob = try? Glob(root + "/info/*.list") else { continue }
            let conffiles = Set(result.map(\.path))
            for file in context.files(matching: [glob]) {
                let package = String(file.name.dropLast(".list".count))
                guard let lines = Self.lines(file.path, in: context) else { continue }
                for line in lines where !line.isEmpty {
                    let path = Self.relative(line.split(separator: "\t").first ?? line)
                    guard !conffiles.contains(path) else { continue }
                    // The list names directories too; only entries that are not directories count.
                    if let entry = context.tree?.index.entry(at: path), entry.type == .directory { continue }
                    result.append(Expected(path: path, digest: nil, conffile: false, manifest: file.path, package: package))
                }
            }
        }
        return result
    }

    /// `SHA256SUMS`-style manifests, relative to their directory.
    func plain(in context: CheckContext) -> [Expected] {
        var result: [Expected] = []
        for file in context.files(matching: manifests) where file.size < 16 << 20 {
            guard let lines = Self.lines(file.path, in: context) else { continue }
            let base = file.path.split(separator: "/").dropLast().joined(separator: "/")
            result += Self.sumLines(lines, base: base, manifest: file.path, package: file.name.description, conffiles: [])
        }
        return result
    }
}
