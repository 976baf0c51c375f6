import Dispatch
import Synchronization
import Yams

/// A rule pack: one YAML file of rules (`Rules/system.yaml`), versioned.
public struct RulePack: Sendable {
    /// The highest pack format version this build reads.
    public static let supportedVersion = 1

    public let id: String
    public let title: String
    public let file: String
    public internal(set) var rules: [Rule]
    /// The manifest of the directory it was loaded from, when that has one.
    public internal(set) var manifest: PackManifest?
}

/// The on-disk shape of a rule pack, decoded strictly before the checks are built.
struct RulePackDocument: Decodable {
    var version: Int
    var pack: String
    var title: String
    /// Each rule is decoded on its own, so one broken rule does not hide the others' errors.
    var rules: [CapturedNode]
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
    /// Single-check form: `targets`, `check`, `options`.
    var targets: [TargetKind]?
    var check: String?
    var options: CapturedNode?
    /// Several-check form: a list of `{check, targets, options, severity}`.
    var checks: [ImplementationDocument]?
    /// Decoded only when the loader wants examples (lint and test; a scan does not run them).
    var examples: CapturedNode?
}

struct ImplementationDocument: Decodable {
    var check: String
    var targets: [TargetKind]
    var options: CapturedNode?
    var severity: Severity?
}

/// Loads rule packs from directories. Every problem becomes a diagnostic naming file:line:column;
/// loading goes on after an error so that `rules lint` reports them all at once.
public struct RuleLoader: Sendable {
    public let registry: CheckRegistry
    /// Whether rules' `examples:` are decoded (and validated). A scan skips them: they are a
    /// large part of every pack, and `rules lint` / `rules test` check them.
    public let examples: Bool
    /// Composed packs from earlier runs (`NodeCache`); nil: none kept.
    public let cache: NodeCache?
    /// The registry's fingerprint for the cache's "loaded cleanly" record.
    private let fingerprint: [UInt8]

    public init(registry: CheckRegistry, examples: Bool = true, cache: NodeCache? = nil) {
        self.registry = registry
        self.examples = examples
        self.cache = cache
        self.fingerprint = cache == nil ? [] : NodeCache.fingerprint(checkIDs: registry.types.map { $0.id })
    }

    /// The packs found in `directories` (`*.yaml`, `*.yml`, sorted by name, but the manifest)
    /// and the diagnostics. A directory's `manifest.yaml`, when it has one, is checked and its
    /// prefix enforced on every rule of the directory; a directory may hold only config adapters.
    public func load(directories: [String]) -> (packs: [RulePack], diagnostics: [Diagnostic]) {
        var packs: [RulePack] = []
        var diagnostics: [Diagnostic] = []
        var manifests: [PackManifest] = []
        /// Rules of directories without a manifest, checked against the others' prefixes at the end.
        var unmanaged: [Rule] = []
        for directory in directories {
            let files: [String]
            do {
                files = try HostFiles.list(directory: directory).filter {
                    ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && $0 != PackManifest.fileName
                }
            } catch {
                diagnostics.append(Diagnostic(.error, .configuration, code: "rules.unreadable-directory",
                                              "\(error)", at: SourceLocation(file: directory)))
                continue
            }
            let (manifest, manifestProblems) = PackManifest.load(directory: directory)
            diagnostics += manifestProblems
            if let manifest { manifests.append(manifest) }
            // A directory of adapters alone teaches the shipped rules a vendor's format.
            if files.isEmpty && !ConfigAdapters.present(in: directory) {
                diagnostics.append(Diagnostic(.error, .configuration, code: "rules.empty-directory",
                                              "no rule packs (*.yaml) or config adapters (adapters/*.yaml) here",
                                              at: SourceLocation(file: directory)))
            }
            // Packs parse independently: on all cores (start-up time is part of every CI scan).
            let paths = files.map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
            let loaded = Mutex<[Int: (RulePack?, [Diagnostic])]>([:])
            DispatchQueue.concurrentPerform(iterations: paths.count) { i in
                let result = loadPack(file: paths[i])
                loaded.withLock { $0[i] = result }
            }
            let results = loaded.withLock { $0 }
            for i in paths.indices {
                guard let (loaded, problems) = results[i] else { continue }
                diagnostics += problems
                guard var pack = loaded else { continue }
                if let manifest {
                    pack.manifest = manifest
                    for j in pack.rules.indices {
                        pack.rules[j].manifest = manifest.reference
                        if !manifest.covers(pack.rules[j].id) {
                            diagnostics.append(Diagnostic(.error, .configuration, code: "pack.prefix-mismatch",
                                "rule ID \(pack.rules[j].id) is outside prefix \(manifest.prefix) that this directory's manifest declares ("
                                + (manifest.prefix == "RB" ? "RB-<CAT>-<NNN>" : "\(manifest.prefix)-…-<NNN>") + ", \(manifest.prefixLocation))",
                                at: pack.rules[j].source, rule: pack.rules[j].id))
                        }
                    }
                } else {
                    unmanaged += pack.rules
                }
                packs.append(pack)
            }
        }
        diagnostics += PackManifest.conflicts(manifests)
        // A directory without a manifest still loads as it always did, but a rule there inside
        // another pack's declared prefix is probably a copy of it or a collision in waiting.
        for rule in unmanaged {
            if let owner = manifests.first(where: { $0.covers(rule.id) }) {
                diagnostics.append(Diagnostic(.warning, .configuration, code: "pack.prefix-claimed",
                    "rule ID \(rule.id) is in prefix \(owner.prefix), which pack \(owner.id) declares (\(owner.prefixLocation)); "
                    + "give this directory a manifest with a prefix of its own",
                    at: rule.source, rule: rule.id))
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
        var profile = LoadProfile()
        let root: Node
        let cached = cache?.entry(for: text)
        if let cached {
            root = cached.node
            profile.step("yaml cached", bytes: text.utf8.count)
        } else {
            do {
                root = try NodeDecoder.compose(text, file: file)
            } catch {
                return (nil, error.diagnostics)
            }
            profile.step("yaml compose", bytes: text.utf8.count)
        }
        // A pack that loaded cleanly under this registry before (same text, same build) builds
        // its checks when a scan first uses them; any other pack builds and validates them now.
        let deferChecks = !examples && cached?.cleanUnder == fingerprint
        let (pack, diagnostics, builtinOnly) = build(root, file: file, deferChecks: deferChecks, profile: &profile)
        if let cache {
            // Clean: no diagnostic at all, and only built-in checks (a plugin can change under the pack).
            let clean = pack != nil && diagnostics.isEmpty && builtinOnly
            if cached == nil || (clean && cached?.cleanUnder != fingerprint) {
                cache.store(root, for: text, cleanUnder: clean ? fingerprint : nil)
            }
        }
        return (pack, diagnostics)
    }

    /// RBSCAN_PROFILE: the CPU each step of loading takes, summed over the packs.
    struct LoadProfile {
        var cpu = Profiler.threadCPU()
        mutating func step(_ name: String, bytes: Int = 0) {
            guard Profiler.enabled else { return }
            let now = Profiler.threadCPU()
            Profiler.consumed(name, bytes: bytes, seconds: now - cpu)
            cpu = now
        }
    }

    /// The pack in a composed document, its problems, and whether all its checks are built-in.
    private func build(_ root: Node, file: String, deferChecks: Bool,
                       profile: inout LoadProfile) -> (RulePack?, [Diagnostic], builtinOnly: Bool) {
        let decoder = NodeDecoder(file: file)
        var builtinOnly = true
        defer { profile.step("rule checks") }
        // The version is read first so that a newer format gets a clear message, not key errors.
        if case .mapping(let mapping) = root, let versionNode = mapping["version"],
           let version = Int(versionNode.scalar?.string ?? ""), version > RulePack.supportedVersion {
            return (nil, [Diagnostic(.error, .configuration, code: "rules.unsupported-version",
                "pack format version \(version) is newer than this rbscan reads (\(RulePack.supportedVersion))",
                at: SourceLocation(file: file, line: versionNode.mark?.line, column: versionNode.mark?.column))], builtinOnly)
        }
        let document: RulePackDocument
        do {
            document = try decoder.decode(RulePackDocument.self, from: root)
        } catch {
            return (nil, error.diagnostics, builtinOnly)
        }
        var diagnostics: [Diagnostic] = []
        if document.version < 1 {
            diagnostics.append(decoder.diagnostic("pack format version must be 1", code: "rules.unsupported-version",
                                                  mark: nodeMark(root, "version")))
        }
        profile.step("pack decode")
        var rules: [Rule] = []
        let ruleNodes: [Node]
        if case .mapping(let mapping) = root, case .sequence(let sequence)? = mapping["rules"] {
            ruleNodes = Array(sequence)
        } else {
            ruleNodes = []
        }
        for (i, captured) in document.rules.enumerated() {
            let node = i < ruleNodes.count ? ruleNodes[i] : root
            let doc: RuleDocument
            do {
                doc = try decoder.decode(RuleDocument.self, from: captured.node, basePath: captured.codingPath)
            } catch {
                diagnostics += error.diagnostics
                continue
            }
            profile.step("rule decode")
            let location = SourceLocation(file: file, line: node.mark?.line, column: node.mark?.column)
            var ruleProblems: [Diagnostic] = []
            let category = doc.category
            if let idCategory = RuleID.category(of: doc.id) {
                if idCategory != doc.category {
                    ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.category-mismatch",
                        "category \(doc.category.rawValue) does not match the ID's \(idCategory.rawValue)",
                        at: markLocation(file, nodeMark(node, "category")), rule: doc.id))
                }
            } else if !RuleID.isNamespaced(doc.id) {
                ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.bad-id",
                    "rule ID '\(doc.id)' is outside the schemes RB-<CAT>-<NNN> (CAT: \(Category.allCases.map(\.rawValue).joined(separator: ", "))) "
                    + "and <NAMESPACE>-…-<NNN> for an organisation's own rules (e.g. ACME-CAM-001; upper case, RB- reserved)",
                    at: markLocation(file, nodeMark(node, "id"))))
            }
            var parts: [(doc: ImplementationDocument, node: Node)] = []
            if let check = doc.check {
                if doc.checks != nil {
                    ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.check-and-checks",
                        "give either check/targets/options or checks, not both",
                        at: markLocation(file, nodeMark(node, "checks")), rule: doc.id))
                }
                guard let targets = doc.targets else {
                    diagnostics += ruleProblems + [Diagnostic(.error, .configuration, code: "yaml.missing-key",
                        "missing required key 'targets'", at: location, rule: doc.id)]
                    continue
                }
                parts.append((ImplementationDocument(check: check, targets: targets, options: doc.options, severity: nil), node))
            } else if let checks = doc.checks {
                if doc.targets != nil || doc.options != nil {
                    ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.check-and-checks",
                        "with checks, targets and options go inside each entry",
                        at: markLocation(file, nodeMark(node, doc.targets != nil ? "targets" : "options")), rule: doc.id))
                }
                var entryNodes: [Node] = []
                if case .mapping(let m) = node, case .sequence(let seq)? = m["checks"] { entryNodes = Array(seq) }
                for (k, entry) in checks.enumerated() { parts.append((entry, k < entryNodes.count ? entryNodes[k] : node)) }
                if checks.isEmpty {
                    ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.no-check",
                        "checks is empty", at: markLocation(file, nodeMark(node, "checks")), rule: doc.id))
                }
            } else {
                diagnostics.append(Diagnostic(.error, .configuration, code: "yaml.missing-key",
                    "missing required key 'check' (or 'checks')", at: location, rule: doc.id))
                continue
            }
            var implementations: [RuleImplementation] = []
            for (part, partNode) in parts {
                if part.targets.isEmpty {
                    ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.no-targets",
                        "targets is empty", at: markLocation(file, nodeMark(partNode, "targets")), rule: doc.id))
                    continue
                }
                if registry.type(for: part.check) == nil { builtinOnly = false }
                if deferChecks, let type = registry.type(for: part.check) {
                    let unsupported = part.targets.filter { !type.targetKinds.contains($0) }
                    if !unsupported.isEmpty {
                        ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.target-unsupported",
                            "check \(part.check) cannot run on \(unsupported.map(\.rawValue).joined(separator: ", "))",
                            at: markLocation(file, nodeMark(partNode, "targets")), rule: doc.id))
                    }
                    let registry = self.registry, id = part.check, options = part.options
                    implementations.append(RuleImplementation(checkID: id, targets: part.targets, severity: part.severity) { () throws(DiagnosticError) in
                        try registry.instantiate(id, options: options, decoder: decoder)
                    })
                    continue
                }
                let check: any Check
                do {
                    profile.step("rule checks")
                    check = try registry.instantiate(part.check, options: part.options, decoder: decoder)
                    profile.step("check instantiation")
                } catch {
                    ruleProblems += error.diagnostics.map { diagnostic in
                        var d = diagnostic
                        d.ruleID = doc.id
                        if d.location?.line == nil { d.location = markLocation(file, nodeMark(partNode, "check")) }
                        return d
                    }
                    continue
                }
                let unsupported = part.targets.filter { !type(of: check).targetKinds.contains($0) }
                if !unsupported.isEmpty {
                    ruleProblems.append(Diagnostic(.error, .configuration, code: "rule.target-unsupported",
                        "check \(part.check) cannot run on \(unsupported.map(\.rawValue).joined(separator: ", "))",
                        at: markLocation(file, nodeMark(partNode, "targets")), rule: doc.id))
                }
                implementations.append(RuleImplementation(checkID: part.check, check: check, targets: part.targets,
                                                          severity: part.severity))
            }
            var examples = RuleExamples()
            if self.examples, let captured = doc.examples {
                do {
                    examples = try decoder.decode(RuleExamples.self, from: captured.node, basePath: captured.codingPath)
                } catch {
                    diagnostics += error.diagnostics
                    continue
                }
                attachSources(&examples, ruleNode: node, file: file)
            }
            if !ruleProblems.isEmpty {
                diagnostics += ruleProblems
                continue
            }
            rules.append(Rule(id: doc.id, title: doc.title, category: category, severity: doc.severity,
                              description: doc.description, rationale: doc.rationale, remediation: doc.remediation,
                              references: doc.references ?? [], implementations: implementations,
                              examples: examples, source: location, pack: document.pack))
        }
        return (RulePack(id: document.pack, title: document.title, file: file, rules: rules), diagnostics, builtinOnly)
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
        var first: [String: Rule] = [:]
        var diagnostics: [Diagnostic] = []
        for pack in packs {
            for rule in pack.rules {
                if let earlier = first[rule.id] {
                    // --rules once replaced the shipped rules; a copy of them given the old way
                    // now duplicates every ID, and the first message says what to do.
                    let hint = earlier.manifest?.id == PackManifest.shippedID && rule.manifest?.id != PackManifest.shippedID
                        ? "; --rules directories add to the shipped Rules/: pass --no-shipped-rules to load only yours" : ""
                    diagnostics.append(Diagnostic(.error, .configuration, code: "rule.duplicate-id",
                        "duplicate rule ID \(rule.id) (first defined at \(earlier.source))" + hint, at: rule.source, rule: rule.id))
                } else {
                    first[rule.id] = rule
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
