import Yams

/// A rule pack: one YAML file of rules (`Rules/system.yaml`), versioned.
public struct RulePack: Sendable {
    /// The highest pack format version this build reads.
    public static let supportedVersion = 1

    public let id: String
    public let title: String
    public let file: String
    public let rules: [Rule]
}

/// The on-disk shape of a rule pack, decoded strictly before the checks are built.
struct RulePackDocument: Decodable {
    var version: Int
    var pack: String
    var title: String
    var rules: [RuleDocument]
}

struct RuleDocument: Decodable {
    var id: String
    var title: String
    var category: Category
    var severity: Severity
    var description: String
    var rationale: String?
    var remediation: String
    var references: [String]?
    var targets: [TargetKind]
    var check: String
    var options: CapturedNode?
    var examples: RuleExamples?
}

/// Loads rule packs from directories. Every problem becomes a diagnostic naming file:line:column;
/// loading goes on after an error so that `rules lint` reports them all at once.
public struct RuleLoader {
    public let registry: CheckRegistry

    public init(registry: CheckRegistry) { self.registry = registry }

    /// The packs found in `directories` (`*.yaml`, `*.yml`, sorted by name) and the diagnostics.
    public func load(directories: [String]) -> (packs: [RulePack], diagnostics: [Diagnostic]) {
        var packs: [RulePack] = []
        var diagnostics: [Diagnostic] = []
        for directory in directories {
            let files: [String]
            do {
                files = try HostFiles.list(directory: directory).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            } catch {
                diagnostics.append(Diagnostic(.error, .configuration, code: "rules.unreadable-directory",
                                              "\(error)", at: SourceLocation(file: directory)))
                continue
            }
            if files.isEmpty {
                diagnostics.append(Diagnostic(.error, .configuration, code: "rules.empty-directory",
                                              "no rule packs (*.yaml) here", at: SourceLocation(file: directory)))
            }
            for name in files {
                let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
                let (pack, problems) = loadPack(file: path)
                diagnostics += problems
                if let pack { packs.append(pack) }
            }
        }
        diagnostics += duplicateDiagnostics(packs)
        return (packs, diagnostics)
    }

    /// Loads one pack file. Returns the rules that loaded and every problem found.
    public func loadPack(file path: String) -> (RulePack?, [Diagnostic]) {
        let text: String
        do {
            text = try HostFiles.readText(path)
        } catch {
            return (nil, [Diagnostic(.error, .configuration, code: "rules.unreadable", "\(error)",
                                     at: SourceLocation(file: path))])
        }
        return loadPack(text: text, file: path)
    }

    /// Loads a pack from text (`file` names it in diagnostics).
    public func loadPack(text: String, file: String) -> (RulePack?, [Diagnostic]) {
        let decoder = NodeDecoder(file: file)
        let root: Node
        do {
            root = try NodeDecoder.compose(text, file: file)
        } catch {
            return (nil, error.diagnostics)
        }
        // The version is read first so that a newer format gets a clear message, not key errors.
        if case .mapping(let mapping) = root, let versionNode = mapping["version"],
           let version = Int(versionNode.scalar?.string ?? ""), version > RulePack.supportedVersion {
            return (nil, [Diagnostic(.error, .configuration, code: "rules.unsupported-version",
                "pack format version \(version) is newer than this rbscan reads (\(RulePack.supportedVersion))",
                at: SourceLocation(file: file, line: versionNode.mark?.line, column: versionNode.mark?.column))])
        }
        let document: RulePackDocument
        do {
            document = try decoder.decode(RulePackDocument.self, from: root)
        } catch {
            return (nil, error.diagnostics)
        }
        var diagnostics: [Diagnostic] = []
        if document.version < 1 {
            diagnostics.append(decoder.diagnostic("pack format version must be 1", code: "rules.unsupported-version",
                                                  mark: nodeMark(root, "version")))
        }
        var rules: [Rule] = []
        let ruleNodes: [Node]
        if case .mapping(let mapping) = root, case .sequence(let sequence)? = mapping["rules"] {
            ruleNodes = Array(sequence)
        } else {
            ruleNodes = []
        }
        for (i, doc) in document.rules.enumerated() {
            let node = i < ruleNodes.count ? ruleNodes[i] : root
            let location = SourceLocation(file: file, line: node.mark?.line, column: node.mark?.column)
            var ruleProblems: [Diagnostic] = []
            guard let category = RuleID.category(of: doc.id) else {
                diagnostics.append(Diagnostic(.error, .configuration, code: "rule.bad-id",
                    "rule ID '\(doc.id)' is outside the scheme RB-<CAT>-<NNN> (CAT: \(Category.allCases.map(\.rawValue).joined(separator: ", ")))",
                    at: markLocation(file, nodeMark(node, "id"))))
                continue
            }
            if category != doc.category {
                ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.category-mismatch",
                    "category \(doc.category.rawValue) does not match the ID's \(category.rawValue)",
                    at: markLocation(file, nodeMark(node, "category")), rule: doc.id))
            }
            if doc.targets.isEmpty {
                ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.no-targets",
                    "targets is empty", at: markLocation(file, nodeMark(node, "targets")), rule: doc.id))
            }
            let check: any Check
            do {
                check = try registry.instantiate(doc.check, options: doc.options, decoder: decoder)
            } catch {
                diagnostics += ruleProblems + error.diagnostics.map { diagnostic in
                    var d = diagnostic
                    d.ruleID = doc.id
                    if d.location == nil || d.location?.line == nil { d.location = markLocation(file, nodeMark(node, "check")) }
                    return d
                }
                continue
            }
            let unsupported = doc.targets.filter { !type(of: check).targetKinds.contains($0) }
            if !unsupported.isEmpty {
                ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.target-unsupported",
                    "check \(doc.check) cannot run on \(unsupported.map(\.rawValue).joined(separator: ", "))",
                    at: markLocation(file, nodeMark(node, "targets")), rule: doc.id))
            }
            var examples = doc.examples ?? RuleExamples()
            attachSources(&examples, ruleNode: node, file: file)
            if !ruleProblems.isEmpty {
                diagnostics += ruleProblems
                continue
            }
            rules.append(Rule(id: doc.id, title: doc.title, category: category, severity: doc.severity,
                              description: doc.description, rationale: doc.rationale, remediation: doc.remediation,
                              references: doc.references ?? [], targets: doc.targets, checkID: doc.check,
                              check: check, examples: examples, source: location, pack: document.pack))
        }
        return (RulePack(id: document.pack, title: document.title, file: file, rules: rules), diagnostics)
    }

    private func attachSources(_ examples: inout RuleExamples, ruleNode: Node, file: String) {
        guard case .mapping(let rule) = ruleNode, case .mapping(let mapping)? = rule["examples"] else { return }
        func nodes(_ key: String) -> [Node] {
            if case .sequence(let seq)? = mapping[key] { return Array(seq) }
            return []
        }
        let failNodes = nodes("fail"), passNodes = nodes("pass")
        for i in examples.fail.indices where i < failNodes.count {
            examples.fail[i].source = markLocation(file, failNodes[i].mark)
        }
        for i in examples.pass.indices where i < passNodes.count {
            examples.pass[i].source = markLocation(file, passNodes[i].mark)
        }
    }

    private func duplicateDiagnostics(_ packs: [RulePack]) -> [Diagnostic] {
        var first: [String: SourceLocation] = [:]
        var diagnostics: [Diagnostic] = []
        for pack in packs {
            for rule in pack.rules {
                if let earlier = first[rule.id] {
                    diagnostics.append(Diagnostic(.error, .configuration, code: "rule.duplicate-id",
                        "duplicate rule ID \(rule.id) (first defined at \(earlier))", at: rule.source, rule: rule.id))
                } else {
                    first[rule.id] = rule.source
                }
            }
        }
        return diagnostics
    }
}

func nodeMark(_ node: Node, _ key: String) -> Mark? {
    guard case .mapping(let mapping) = node else { return node.mark }
    return mapping.first(where: { $0.key.scalar?.string == key })?.key.mark ?? node.mark
}

func markLocation(_ file: String, _ mark: Mark?) -> SourceLocation {
    SourceLocation(file: file, line: mark?.line, column: mark?.column)
}
