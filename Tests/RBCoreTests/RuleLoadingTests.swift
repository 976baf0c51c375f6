import RBCore
import RBTestSupport
import Testing

/// A minimal check for loader and engine tests, so RBCore is tested without RBChecks.
struct ProbeCheck: Check {
    struct Options: Decodable, Sendable {
        var path: String
        var fail: Bool?
        var explode: Bool?
        var limit: Int?
    }
    static let id = "test.probe"
    static let summary = "test probe"
    static let targetKinds: Set<TargetKind> = [.firmware, .config]
    let options: Options
    init(options: Options) throws(CheckOptionError) {
        if let limit = options.limit, limit < 0 { throw CheckOptionError(key: "limit", "must not be negative") }
        self.options = options
    }
    struct Boom: Error {}
    func run(in context: CheckContext) async throws -> [Observation] {
        if options.explode == true { throw Boom() }
        guard options.fail == true, context.tree?.index.entry(at: options.path) != nil else { return [] }
        return [Observation(message: "found \(options.path)", location: Location(path: options.path, line: 1),
                            evidence: Evidence(key: options.path))]
    }
}

let probeRegistry = CheckRegistry([ProbeCheck.self])

func load(_ text: String) -> (RulePack?, [Diagnostic]) {
    RuleLoader(registry: probeRegistry).loadPack(text: text, file: "Rules/test.yaml")
}

let goodRule = """
version: 1
pack: test
title: Test
rules:
  - id: RB-SYS-001
    title: Probe
    category: SYS
    severity: medium
    description: d
    remediation: r
    targets: [firmware]
    check: test.probe
    options: {path: etc/x, fail: true}
"""

@Suite("Rule packs: loading and diagnostics with file:line:column")
struct RuleLoadingTests {
    @Test func loadsAGoodPack() throws {
        let (pack, diagnostics) = load(goodRule)
        #expect(diagnostics.isEmpty)
        let rule = try #require(pack?.rules.first)
        #expect(rule.id == "RB-SYS-001")
        #expect(rule.category == .SYS)
        #expect(rule.targets == [.firmware])
        #expect(rule.source.line == 5)
    }

    @Test("Examples are decoded (and a bad one named with file:line) for lint and test; a scan's loader skips them")
    func examplesOnlyWhenAsked() throws {
        let text = goodRule + "\n    examples:\n      fail:\n        - files: {etc/x: y}\n          lines: 3\n"
        let (_, diagnostics) = RuleLoader(registry: probeRegistry).loadPack(text: text, file: "Rules/test.yaml")
        let d = try #require(diagnostics.first)
        #expect(d.code == "yaml.unknown-key")
        #expect(d.location?.line == 17 || d.location?.line == 18)   // the example, or its bad key
        let (pack, quiet) = RuleLoader(registry: probeRegistry, examples: false).loadPack(text: text, file: "Rules/test.yaml")
        #expect(quiet.isEmpty)
        #expect(pack?.rules.first?.examples.fail.isEmpty == true)
        let (full, none) = RuleLoader(registry: probeRegistry).loadPack(text: goodRule + "\n    examples:\n      fail:\n        - files: {etc/x: y}\n", file: "Rules/test.yaml")
        #expect(none.isEmpty)
        #expect(full?.rules.first?.examples.fail.count == 1)
    }

    @Test func unknownKeyNamesLineAndColumn() throws {
        let (_, diagnostics) = load(goodRule.replacingOccurrences(of: "    remediation: r", with: "    remediation: r\n    remedation: typo"))
        let d = try #require(diagnostics.first)
        #expect(d.code == "yaml.unknown-key")
        #expect(d.location == SourceLocation(file: "Rules/test.yaml", line: 11, column: 5))
        #expect(d.message.contains("remedation"))
    }

    @Test func unknownOptionKeyIsAnError() throws {
        let (_, diagnostics) = load(goodRule.replacingOccurrences(of: "fail: true}", with: "fail: true, colour: red}"))
        let d = try #require(diagnostics.first)
        #expect(d.code == "yaml.unknown-key")
        #expect(d.location?.line == 13)
        #expect(d.ruleID == "RB-SYS-001")
    }

    @Test func badOptionValueNamesTheOption() throws {
        let (_, diagnostics) = load(goodRule.replacingOccurrences(of: "fail: true}", with: "fail: true, limit: -1}"))
        let d = try #require(diagnostics.first)
        #expect(d.code == "rule.bad-option")
        #expect(d.location?.line == 13)
        #expect(d.message.contains("limit"))
    }

    @Test func typeMismatchNamesThePath() throws {
        let (_, diagnostics) = load(goodRule.replacingOccurrences(of: "fail: true}", with: "fail: maybe}"))
        let d = try #require(diagnostics.first)
        #expect(d.code == "yaml.type-mismatch")
        #expect(d.location?.line == 13)
    }

    /// An organisation namespaces its own rules (ACME-CAM-001); RB- stays the baseline's scheme,
    /// and malformed namespaced IDs are refused with the line.
    @Test(arguments: [("ACME-CAM-001", true), ("ACME-001", true), ("CORP2-NVR-WEB-0042", true), ("X9-100", true),
                      ("acme-cam-001", false), ("ACME-CAM-01", false), ("A-CAM-001", false), ("RB-CAM-001", false),
                      ("ACME--001", false), ("ACME-CAM-00001", false), ("1ACME-001", false)])
    func namespacedRuleIDs(id: String, valid: Bool) throws {
        let (pack, diagnostics) = load(goodRule.replacingOccurrences(of: "RB-SYS-001", with: id))
        if valid {
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            #expect(pack?.rules.map(\.id) == [id])
            #expect(pack?.rules.first?.category == .SYS)
        } else {
            #expect(diagnostics.map(\.code) == ["rule.bad-id"], "\(diagnostics)")
            #expect(diagnostics.first?.location?.line != nil)
        }
    }

    @Test func unknownCheckAndBadIDAndCategory() throws {
        let text = goodRule.replacingOccurrences(of: "check: test.probe", with: "check: test.nope")
            .replacingOccurrences(of: "RB-SYS-001", with: "RB-XYZ-01")
        let (pack, diagnostics) = load(text)
        #expect(pack?.rules.isEmpty == true)
        #expect(Set(diagnostics.map(\.code)) == ["rule.bad-id", "rule.unknown-check"])
        #expect(diagnostics.allSatisfy { $0.location?.line != nil })
        let (_, mismatch) = load(goodRule.replacingOccurrences(of: "category: SYS", with: "category: IFC"))
        #expect(mismatch.map(\.code) == ["rule.category-mismatch"])
        #expect(mismatch.first?.location?.line == 7)
    }

    @Test func yamlSyntaxErrorNamesTheLine() throws {
        let (_, diagnostics) = load("version: 1\npack: x\ntitle: [unclosed\nrules: []\n")
        let d = try #require(diagnostics.first)
        #expect(d.code == "yaml.syntax")
        #expect(d.location?.line != nil)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let (_, diagnostics) = load(goodRule.replacingOccurrences(of: "version: 1", with: "version: 7"))
        #expect(diagnostics.first?.code == "rules.unsupported-version")
        #expect(diagnostics.first?.location?.line == 1)
    }

    @Test func duplicateIDsAcrossPacksAreReported() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write(["a.yaml": .file(goodRule), "b.yaml": .file(goodRule.replacingOccurrences(of: "pack: test", with: "pack: other"))],
                                into: dir.path)
        let (packs, diagnostics) = RuleLoader(registry: probeRegistry).load(directories: [dir.path])
        #expect(packs.count == 2)
        let d = try #require(diagnostics.first)
        #expect(d.code == "rule.duplicate-id")
        #expect(d.location?.file.hasSuffix("b.yaml") == true)
        #expect(d.location?.line == 5)
    }

    @Test func baselineOverridesAndValidation() throws {
        let (pack, _) = load(goodRule)
        let baseline = try Baseline.parse(text: """
            version: 1
            id: strict
            title: Strict
            packs: [test]
            failOn: medium
            rules:
              RB-SYS-001: {severity: critical}
              RB-SYS-099: {enabled: false}
            """, file: "Baselines/strict.yaml")
        #expect(baseline.failOn == .severity(.medium))
        let (rules, diagnostics) = baseline.apply(to: [try #require(pack)])
        #expect(rules.first?.severity == .critical)
        #expect(diagnostics.map(\.code) == ["baseline.unknown-rule"])
        #expect(diagnostics.first?.location?.line == 8)
        #expect(throws: DiagnosticError.self) {
            try Baseline.parse(text: "version: 1\nid: x\ntitle: x\npacks: [all]\nfailOn: severe\n", file: "b.yaml")
        }
    }

    @Test("Every fixed-width integer decodes from a scalar (UInt16 once recursed until the stack overflowed)")
    func smallIntegers() throws {
        struct Numbers: Decodable { var port: UInt16; var byte: UInt8; var small: Int16; var ratio: Float }
        let node = try NodeDecoder.compose("port: 8443\nbyte: 255\nsmall: -3\nratio: 0.5\n", file: "n.yaml")
        let numbers = try NodeDecoder(file: "n.yaml").decode(Numbers.self, from: node)
        #expect(numbers.port == 8443 && numbers.byte == 255 && numbers.small == -3 && numbers.ratio == 0.5)
        let tooBig = try NodeDecoder.compose("port: 70000\nbyte: 1\nsmall: 1\nratio: 1\n", file: "n.yaml")
        #expect(throws: DiagnosticError.self) { try NodeDecoder(file: "n.yaml").decode(Numbers.self, from: tooBig) }
    }
}
