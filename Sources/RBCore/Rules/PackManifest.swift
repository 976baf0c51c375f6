import Yams

/// The manifest of a rules directory (`manifest.yaml` beside its packs): which distribution of
/// rules the directory is, at which version, the rule-ID prefix its rules must use, and the
/// rbscan versions it supports. A third party ships a directory with a manifest; the shipped
/// `Rules/` has one too (id `rbscan`, prefix `RB`). A directory without one loads as before.
///
/// ```yaml
/// format: 1                 # manifest format version
/// id: acme-camera           # lower case letters, digits, '-', '.'
/// version: 1.4.0            # semantic version of these rules
/// prefix: ACME              # every rule ID here is ACME-…-NNN
/// rbscan: ">=0.1, <1"       # the rbscan versions it supports
/// title: ACME camera rules  # optional, as is description
/// ```
public struct PackManifest: Sendable, Hashable {
    /// The manifest's file name in a rules directory; every other `*.yaml` there is a pack.
    public static let fileName = "manifest.yaml"
    /// The highest manifest format version this build reads.
    public static let supportedFormat = 1
    /// The id of the shipped `Rules/`, the only pack that may use the `RB` prefix.
    public static let shippedID = "rbscan"

    public let id: String
    public let version: String
    public let prefix: String
    public let rbscan: VersionRequirement
    public let title: String?
    public let description: String?
    /// The manifest file, and where its prefix is written (conflicts point at both manifests).
    public let file: String
    public let prefixLocation: SourceLocation

    /// The id and version, as reports carry them per rule.
    public var reference: ManifestReference { ManifestReference(id: id, version: version) }

    struct Document: Decodable {
        var format: Int
        var id: String
        var version: String
        var prefix: String
        var rbscan: String
        var title: String?
        var description: String?
    }

    /// The manifest of `directory`: nil without diagnostics when it has none; nil with
    /// diagnostics when it cannot be used (the directory's rules then load unchecked, so that
    /// lint reports their problems too).
    public static func load(directory: String) -> (manifest: PackManifest?, diagnostics: [Diagnostic]) {
        let file = (directory.hasSuffix("/") ? directory : directory + "/") + fileName
        guard HostFiles.kind(of: file) != .missing else { return (nil, []) }
        let text: String
        do {
            text = try HostFiles.readText(file, limit: 1 << 20)
        } catch {
            return (nil, [Diagnostic(.error, .configuration, code: "pack.unreadable", "\(error)", at: SourceLocation(file: file))])
        }
        return parse(text: text, file: file)
    }

    /// Parses and validates a manifest; `rbscanVersion` is the running build's (tests vary it).
    public static func parse(text: String, file: String,
                             rbscanVersion: String = RBScanVersion.current) -> (manifest: PackManifest?, diagnostics: [Diagnostic]) {
        let decoder = NodeDecoder(file: file)
        let root: Node
        do {
            root = try NodeDecoder.compose(text, file: file)
        } catch {
            return (nil, error.diagnostics)
        }
        if case .mapping(let mapping) = root {
            // A pack saved under the manifest's name would otherwise read as a list of unknown keys.
            if let key = mapping.keys.first(where: { ["pack", "rules"].contains($0.scalar?.string) }) {
                return (nil, [decoder.diagnostic(
                    "\(fileName) is the rules directory's manifest (format, id, version, prefix, rbscan), not a rule pack: rename the pack",
                    code: "pack.manifest-is-a-pack", mark: key.mark)])
            }
            // The format is read first so that a newer one gets a clear message, not key errors.
            if let node = mapping["format"], let format = Int(node.scalar?.string ?? ""), format > supportedFormat {
                return (nil, [decoder.diagnostic("manifest format \(format) is newer than this rbscan reads (\(supportedFormat))",
                                                 code: "pack.unsupported-format", mark: node.mark)])
            }
        }
        let document: Document
        do {
            document = try decoder.decode(Document.self, from: root)
        } catch {
            return (nil, error.diagnostics)
        }
        func at(_ key: String) -> Mark? {
            guard case .mapping(let mapping) = root, let value = mapping[key] else { return nodeMark(root, key) }
            return value.mark
        }
        var diagnostics: [Diagnostic] = []
        if document.format < 1 {
            diagnostics.append(decoder.diagnostic("manifest format must be 1", code: "pack.unsupported-format", mark: at("format")))
        }
        if !isValidID(document.id) {
            diagnostics.append(decoder.diagnostic(
                "pack id '\(document.id)' is not lower-case letters, digits, '-' and '.' (starting with a letter, at most 64)",
                code: "pack.bad-id", mark: at("id")))
        }
        if SemanticVersion(document.version) == nil {
            diagnostics.append(decoder.diagnostic(
                "version '\(document.version)' is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.4.0, 2.0.0-rc.1)",
                code: "pack.bad-version", mark: at("version")))
        }
        if let problem = prefixProblem(document.prefix, id: document.id) {
            diagnostics.append(decoder.diagnostic(problem, code: "pack.bad-prefix", mark: at("prefix")))
        }
        let requirement: VersionRequirement
        do {
            requirement = try VersionRequirement(parsing: document.rbscan)
        } catch {
            diagnostics.append(decoder.diagnostic("rbscan: \(error.message)", code: "pack.bad-rbscan", mark: at("rbscan")))
            return (nil, diagnostics)
        }
        guard diagnostics.isEmpty else { return (nil, diagnostics) }
        let manifest = PackManifest(id: document.id, version: document.version, prefix: document.prefix, rbscan: requirement,
                                    title: document.title, description: document.description, file: file,
                                    prefixLocation: markLocation(file, at("prefix")))
        // An unsupported rbscan is an error, but the manifest stays usable: its rules still load
        // and are checked, so one run shows everything that needs changing.
        if !requirement.isSatisfied(by: rbscanVersion) {
            diagnostics.append(decoder.diagnostic(
                "pack \(document.id) \(document.version) supports rbscan \(requirement), not this rbscan \(rbscanVersion)",
                code: "pack.unsupported-rbscan", mark: at("rbscan")))
        }
        return (manifest, diagnostics)
    }

    static func isValidID(_ id: String) -> Bool {
        guard let first = id.first, first.isASCII, first.isLowercase, id.count <= 64 else { return false }
        return id.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    /// Why `prefix` cannot be a rule-ID prefix, or nil. A prefix is a namespace as rule IDs spell
    /// it (`ACME`, `CORP2-NVR`): parts of upper-case letters and digits, the first 2–12 characters
    /// starting with a letter. `RB` belongs to the shipped rules alone.
    static func prefixProblem(_ prefix: String, id: String) -> String? {
        let parts = prefix.split(separator: "-", omittingEmptySubsequences: false)
        let wellFormed = parts.count <= 4 && parts.allSatisfy { part in
            (1...12).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
        } && (2...12).contains(parts[0].count) && parts[0].first!.isLetter
        guard wellFormed else {
            return "prefix '\(prefix)' is not a rule-ID namespace: upper-case letters and digits, 2–12 starting with a letter "
                + "(e.g. ACME, CORP2-NVR)"
        }
        if parts[0] == "RB" && !(prefix == "RB" && id == shippedID) {
            return "prefix RB is reserved to rbscan's own rules (pack \(shippedID)): choose your organisation's namespace"
        }
        return nil
    }

    /// Whether `ruleID` lies in this manifest's prefix: `RB-<CAT>-<NNN>` for the shipped rules,
    /// `<PREFIX>-…-<NNN>` (a namespaced ID, `RuleID.isNamespaced`) for any other.
    public func covers(_ ruleID: String) -> Bool {
        if prefix == "RB" { return RuleID.category(of: ruleID) != nil }
        return ruleID.hasPrefix(prefix + "-") && RuleID.isNamespaced(ruleID)
    }

    /// Whether two prefixes could name the same rule ID (`ACME` and `ACME-CAM`).
    func overlaps(_ other: PackManifest) -> Bool {
        prefix == other.prefix || prefix.hasPrefix(other.prefix + "-") || other.prefix.hasPrefix(prefix + "-")
    }

    /// Problems between the manifests of one run: two directories of different packs whose
    /// prefixes overlap, or the same pack at two versions. The same pack at one version in two
    /// directories (its rules here, its adapters there) is fine.
    public static func conflicts(_ manifests: [PackManifest]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for (i, later) in manifests.enumerated() {
            for earlier in manifests[..<i] {
                if later.id == earlier.id {
                    if later.version != earlier.version {
                        diagnostics.append(Diagnostic(.error, .configuration, code: "pack.duplicate-id",
                            "pack \(later.id) \(later.version) is loaded already at version \(earlier.version) (\(earlier.file)): give one of them",
                            at: SourceLocation(file: later.file)))
                    }
                } else if later.overlaps(earlier) {
                    diagnostics.append(Diagnostic(.error, .configuration, code: "pack.duplicate-prefix",
                        "prefix \(later.prefix) of pack \(later.id) overlaps prefix \(earlier.prefix) of pack \(earlier.id) (\(earlier.prefixLocation)): "
                        + "each pack needs a namespace of its own",
                        at: later.prefixLocation))
                }
            }
        }
        return diagnostics
    }
}

/// The pack (manifest) a rule comes from, as reports name it.
public struct ManifestReference: Hashable, Codable, Sendable {
    public var id: String
    public var version: String
    public init(id: String, version: String) {
        self.id = id
        self.version = version
    }
}

/// A semantic version's precedence-relevant parts: numbers, then whether it is a pre-release
/// (`1.0.0-rc.1` sorts before `1.0.0`; build metadata after `+` is ignored).
public struct SemanticVersion: Comparable, Sendable, CustomStringConvertible {
    public var numbers: [Int]
    public var preRelease: String?

    /// `MAJOR.MINOR.PATCH[-pre][+build]`.
    public init?(_ text: String) {
        self.init(text, components: 3...3)
    }

    init?(_ text: String, components: ClosedRange<Int>) {
        let withoutBuild = text.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = withoutBuild.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard components.contains(numbers.count),
              numbers.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return nil }
            preRelease = String(parts[1])
        }
        self.numbers = numbers.map { Int($0)! }
        while self.numbers.count < 3 { self.numbers.append(0) }
    }

    public var description: String { numbers.map(String.init).joined(separator: ".") + (preRelease.map { "-" + $0 } ?? "") }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if a.numbers != b.numbers { return a.numbers.lexicographicallyPrecedes(b.numbers) }
        switch (a.preRelease, b.preRelease) {
        case (nil, _): return false
        case (_, nil): return true
        case let (x?, y?): return x < y
        }
    }

    public static func == (a: SemanticVersion, b: SemanticVersion) -> Bool {
        a.numbers == b.numbers && a.preRelease == b.preRelease
    }
}

/// The rbscan versions a pack supports: comparisons joined by commas, all of which must hold
/// (`>=0.9, <2`; `=1.2.0`; a bare version means `=`). Versions may omit trailing parts
/// (`<2` is `<2.0.0`).
public struct VersionRequirement: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        // Two-character operators first: they are matched in this order.
        case greaterOrEqual = ">=", lessOrEqual = "<=", equal2 = "==", greater = ">", less = "<", equal = "="
    }
    public struct Comparison: Sendable, Hashable {
        public var op: Operator
        public var version: String
    }
    public struct ParseError: Error, Sendable { public var message: String }

    public let comparisons: [Comparison]

    public init(parsing text: String) throws(ParseError) {
        var comparisons: [Comparison] = []
        for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
            var rest = Substring(piece.trimmingWhitespace())
            guard !rest.isEmpty else { throw ParseError(message: "'\(text)' has an empty comparison (write e.g. \">=0.9, <2\")") }
            var op = Operator.equal
            if let found = Operator.allCases.first(where: { rest.hasPrefix($0.rawValue) }) {
                op = found == .equal2 ? .equal : found
                rest = rest.dropFirst(found.rawValue.count)
            }
            let version = String(rest.trimmingWhitespace())
            guard SemanticVersion(version, components: 1...3) != nil else {
                throw ParseError(message: "'\(version)' in '\(text)' is not a version (1, 1.2 or 1.2.3)")
            }
            comparisons.append(Comparison(op: op, version: version))
        }
        self.comparisons = comparisons
    }

    /// Whether `version` (rbscan's) meets every comparison; an unparsable one meets none.
    public func isSatisfied(by version: String) -> Bool {
        guard let current = SemanticVersion(version, components: 1...3) else { return false }
        return comparisons.allSatisfy { comparison in
            guard let bound = SemanticVersion(comparison.version, components: 1...3) else { return false }
            switch comparison.op {
            case .greaterOrEqual: return current >= bound
            case .greater: return current > bound
            case .lessOrEqual: return current <= bound
            case .less: return current < bound
            case .equal, .equal2: return current == bound
            }
        }
    }

    public var description: String { comparisons.map { $0.op.rawValue + $0.version }.joined(separator: ", ") }
}
