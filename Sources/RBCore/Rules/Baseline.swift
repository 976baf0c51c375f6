import Yams

/// A baseline profile: which packs run, per-rule overrides and the gate threshold.
/// `Baselines/red-baseline-2.1.yaml` is the default.
public struct Baseline: Sendable {
    public static let supportedVersion = 1

    public struct Override: Decodable, Sendable {
        public var severity: Severity?
        public var enabled: Bool?
        /// Why the override exists; shown by `rules explain`.
        public var reason: String?
    }

    public let id: String
    public let title: String
    public let file: String
    /// Pack IDs to run; `["all"]` runs every pack found. A pack manifest's id selects every
    /// pack of its rules directory (`acme-camera`: the packs a third party layered in).
    public let packs: [String]
    public let failOn: GateThreshold
    public let overrides: [String: Override]
    /// Where each override is written, for diagnostics.
    let overrideLocations: [String: SourceLocation]

    struct Document: Decodable {
        var version: Int
        var id: String
        var title: String
        var description: String?
        var packs: [String]
        var failOn: GateThreshold
        var rules: [String: Override]?
    }

    /// Loads and validates a baseline file.
    public static func load(file: String) throws(DiagnosticError) -> Baseline {
        try parse(text: NodeDecoder.readDocument(file, kind: "baseline"), file: file)
    }

    public static func parse(text: String, file: String) throws(DiagnosticError) -> Baseline {
        let (document, root) = try NodeDecoder.decodeVersioned(Document.self, text: text, file: file, kind: "baseline",
                                                               supported: supportedVersion) { $0.version }
        var locations: [String: SourceLocation] = [:]
        if case .mapping(let top) = root, case .mapping(let rules)? = top["rules"] {
            for (key, _) in rules { locations[key.scalar?.string ?? ""] = markLocation(file, key.mark) }
        }
        return Baseline(id: document.id, title: document.title, file: file, packs: document.packs,
                        failOn: document.failOn, overrides: document.rules ?? [:], overrideLocations: locations)
    }

    /// Selects and tunes rules from the loaded packs. Unknown packs or rule IDs are errors.
    public func apply(to packs: [RulePack]) -> (rules: [Rule], diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let known = Set(packs.map(\.id) + packs.compactMap(\.manifest?.id))
        let selected: [RulePack]
        if packs.isEmpty {
            selected = []
        } else if self.packs == ["all"] {
            selected = packs
        } else {
            for id in self.packs where !known.contains(id) {
                diagnostics.append(Diagnostic(.error, .configuration, code: "baseline.unknown-pack",
                    "baseline selects pack '\(id)', which no rules directory has (known: \(known.sorted().joined(separator: ", ")))",
                    at: SourceLocation(file: file)))
            }
            selected = packs.filter { self.packs.contains($0.id) || $0.manifest.map { self.packs.contains($0.id) } == true }
        }
        var rules = selected.flatMap(\.rules)
        let ids = Set(packs.flatMap(\.rules).map(\.id))
        for (id, _) in overrides where !ids.contains(id) {
            diagnostics.append(Diagnostic(.error, .configuration, code: "baseline.unknown-rule",
                "override for rule \(id), which no loaded pack defines",
                at: overrideLocations[id] ?? SourceLocation(file: file), rule: id))
        }
        for i in rules.indices {
            guard let override = overrides[rules[i].id] else { continue }
            if let severity = override.severity { rules[i].severity = severity }
            if let enabled = override.enabled { rules[i].enabled = enabled }
        }
        return (rules.sorted { $0.id < $1.id }, diagnostics)
    }
}
