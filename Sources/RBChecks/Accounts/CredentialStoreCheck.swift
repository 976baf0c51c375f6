import RBCore
import Yams

/// `config.credentials`: passwords stored in application configs (XML elements and attributes,
/// JSON/YAML values, INI and key=value lines) in plaintext or reversibly encoded (base64); fast
/// unsalted hashes at a lower severity. Keys that describe password settings (length, policy…),
/// empty values and placeholders are skipped. Values are masked in every output.
public struct CredentialStoreCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
    }

    public static let id = "config.credentials"
    public static let summary = "Reports passwords stored in configs in plaintext or reversibly encoded (base64)."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let exclude: [Glob]

    /// Parses every config file its patterns select.
    public var costHint: Int { 20 }

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["**/*.{xml,ini,conf,cfg,json,yaml,yml,properties,cnf}", "etc/config/*"], key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? ["usr/share/**", "usr/lib/python*/**", "etc/ssl/**"], key: "exclude")
    }

    struct Pair {
        var key: String
        var value: String
        var line: Int?
    }

    /// Throws `BoundedYAML.TooLarge` for a YAML/JSON document whose aliases expand without bound.
    /// `recovered`: set when `lenient` let libxml2's recovery read an XML file the strict parse
    /// refused (firmware trees: vendors' near-XML).
    static func pairs(_ text: String, name: String, lenient: Bool, recovered: inout String?) throws -> [Pair] {
        let lower = name.lowercased()
        if lower.hasSuffix(".xml") { return try xmlPairs(text, lenient: lenient, recovered: &recovered) }
        if isUCI(text, name: lower) {
            // OpenWrt UCI (/etc/config/rpcd `config login` … `option password '…'`).
            return UCIFile(text).sections.flatMap { section in section.values.map { Pair(key: $0.key, value: $0.value, line: $0.line) } }
        }
        if lower.hasSuffix(".json") || lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") {
            let composed: Node?
            do { composed = try BoundedYAML.compose(text) } catch let tooLarge as BoundedYAML.TooLarge { throw tooLarge } catch {
                throw ParseError(message: "not valid \(lower.hasSuffix(".json") ? "JSON" : "YAML"): " + DataPathEvaluator.describe(error))
            }
            guard let root = composed else { return [] }
            var result: [Pair] = []
            func walk(_ node: Node, key: String) {
                switch node {
                case .mapping(let mapping):
                    for (k, v) in mapping { walk(v, key: k.scalar?.string ?? key) }
                case .sequence(let sequence):
                    for item in sequence { walk(item, key: key) }
                case .scalar(let scalar):
                    result.append(Pair(key: key, value: scalar.string, line: scalar.mark?.line))
                default:
                    break
                }
            }
            walk(root, key: "")
            return result
        }
        // Every secret key name holds one of these stems (StoredSecret.keyPattern): a file
        // without any has no credential line, and is not split into pairs.
        guard StoredSecret.mayHoldSecretKey(text) else { return [] }
        // A blank-separated line is `key value` only when the value is one word: prose
        // ("pass in any parameters you want…") is not a stored password.
        return KeyValueCheck.parse(text, format: .auto, comments: ["#", ";"]).filter { pair in
            !pair.spaced || !pair.value.utf8.contains(where: { $0 == 32 || $0 == 9 })
        }.map {
            Pair(key: $0.key.split(separator: ".").last.map(String.init) ?? $0.key, value: $0.value, line: $0.line)
        }
    }

    /// A UCI file: under `etc/config/` (or a config target of that shape), without an extension,
    /// whose first statement is `config TYPE`.
    static func isUCI(_ text: String, name: String) -> Bool {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        guard !base.contains(".") else { return false }
        let first = text.splitLines(omittingEmpty: true).first { line in
            let trimmed = line.trimmingWhitespace()
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        return first.map { UCIFile.words($0).first == "config" } ?? false
    }

    /// A structured config that does not parse: reported, never taken for "no credential".
    struct ParseError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func xmlPairs(_ text: String, lenient: Bool, recovered: inout String?) throws -> [Pair] {
        // Leaf elements and attributes, parsed by libxml2 as for xml.xpath, walked once.
        let (result, recoveredFrom) = XMLDocument.leaves(in: Array(text.utf8), name: "config", lenient: lenient)
        if let recoveredFrom { recovered = XMLDocument.recoveredMessage(recoveredFrom) }
        let items: [SelectedItem]
        switch result {
        case .success(let found): items = found
        case .failure(let problem): throw ParseError(message: problem.description)
        }
        return items.compactMap { item in
            let key = item.label.split(separator: "/").last.map { $0.hasPrefix("@") ? String($0.dropFirst()) : String($0) } ?? item.label
            return item.value.map { Pair(key: key, value: $0, line: item.line) }
        }
    }

    /// Whether a file holds a secret-key stem at all, worked out by the read-ahead pass while it
    /// holds each file: a key-value, INI or UCI file without one has no credential (`pairs`) and
    /// is not read again (an image's text is larger than the content cache). Documents (XML,
    /// JSON, YAML: `ConfigContent.isDocument`) are always read: one that does not parse is
    /// reported whatever it holds.
    static let stemAnalysis = ContentAnalysis(id: "config.credentials:secret-stem", binaries: false, nothing: false,
                                              isNothing: { !$0 }) { StoredSecret.mayHoldSecretKey(bytes: $0) }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware, let entries = context.tree?.index.entries else { return ContentInterests() }
        return ContentInterests(Self.stemAnalysis, positions: context.filePositions(matching: paths, excluding: exclude)
            .filter { !ConfigContent.isDocument(entries[$0].path) })
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        let stems = context.analysis(Self.stemAnalysis.id)
        for file in context.files(matching: paths, excluding: exclude) {
            if !ConfigContent.isDocument(file.path), stems(file) as? Bool == false { continue }
            guard let text = context.readText(file) else { continue }
            guard ConfigContent.admits(file, text: text, context: context) else { continue }
            // `etc/config/*` is read only when it is UCI (the extension patterns take the rest).
            let base = file.path.split(separator: "/").last ?? ""
            if !base.contains("."), !CredentialStoreCheck.isUCI(text, name: file.path.lowercased()) { continue }
            let pairs: [Pair]
            var recovered: String?
            do {
                pairs = try CredentialStoreCheck.pairs(text, name: file.path, lenient: context.kind == .firmware, recovered: &recovered)
                if let recovered { context.recovered(recovered, path: file.path) }
            } catch let failure as ParseError {
                context.unparsable(failure.message, path: file.path)
                continue
            } catch {
                context.report("\(error)", path: file.path, code: "check.limit")
                continue
            }
            var occurrences: [String: Int] = [:]
            for pair in pairs where StoredSecret.isSecretKey(pair.key) {
                // A stored credential was found and judged: the file was understood.
                context.understood(file.path)
                let verdict = StoredSecret.classify(pair.value)
                let masked = Mask.secret(pair.value)
                let severity: Severity?
                let what: String
                switch verdict {
                case .nothing, .strongHash: continue
                case .fastHash(let algorithm): what = algorithm == "MD5-crypt" ? "as an MD5-crypt hash (salted but fast)" : "as an unsalted \(algorithm) hash"; severity = .medium
                case .reversible: what = "base64-encoded (reversible)"; severity = nil
                case .plaintext: what = "in plaintext"; severity = nil
                }
                // Identity: the setting's name and its rank among settings of that name in the file,
                // or a digest of the value keyed with the user's key; never a plain digest.
                occurrences[pair.key, default: 0] += 1
                let identity = context.limits.secrets.identity(pair.value) ?? "#\(occurrences[pair.key]!)"
                observations.append(Observation(
                    severity: severity, message: "'\(pair.key)' holds a password \(what): \(masked)",
                    location: Location(path: file.path, line: pair.line),
                    evidence: Evidence(key: "credential:" + pair.key + ":" + identity, snippet: "\(pair.key) = \(masked)", facts: ["key": pair.key])))
            }
        }
        return observations
    }
}
