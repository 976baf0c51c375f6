import RBCore
import Testing

@Suite("Engine")
struct EngineTests {
    func rules(_ options: [(String, Bool, Bool)]) throws -> [Rule] {
        var text = "version: 1\npack: t\ntitle: T\nrules:\n"
        for (i, (path, fail, explode)) in options.enumerated() {
            text += """
              - id: RB-SYS-\(String(format: "%03d", i + 1))
                title: probe \(i)
                category: SYS
                severity: high
                description: d
                remediation: r
                targets: [firmware]
                check: test.probe
                options: {path: \(path), fail: \(fail), explode: \(explode)}

            """
        }
        let (pack, diagnostics) = RuleLoader(registry: probeRegistry).loadPack(text: text, file: "t.yaml")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        return try #require(pack).rules
    }

    func target() -> ScanTarget {
        var items: [String: MemoryTree.Item] = [:]
        for i in 0..<50 { items["etc/f\(i)"] = .file("x") }
        return ScanTarget(spec: "mem", kind: .firmware, tree: MemoryTree(items: items), baseID: "MEM", baseURI: nil)
    }

    @Test func outputIsDeterministicWhateverTheConcurrency() async throws {
        let rules = try rules((0..<40).map { ("etc/f\($0 % 50)", true, false) })
        let one = await Engine(rules: rules, jobs: 1).scan([target()])
        let many = await Engine(rules: rules, jobs: 8).scan([target()])
        #expect(one.findings.count == 40)
        #expect(one.findings == many.findings)
        #expect(one.rulesRun.map(\.id) == many.rulesRun.map(\.id))
    }

    @Test func aThrowingCheckBecomesADiagnosticNotACrash() async throws {
        let rules = try rules([("etc/f1", true, false), ("etc/f2", true, true)])
        let outcome = await Engine(rules: rules, jobs: 2).scan([target()])
        #expect(outcome.findings.map(\.ruleID) == ["RB-SYS-001"])
        let d = try #require(outcome.diagnostics.first)
        #expect(d.code == "check.failed")
        #expect(d.ruleID == "RB-SYS-002")
        let report = ScanReport(targets: [target()], rules: rules, findings: outcome.findings, diagnostics: outcome.diagnostics,
                                baselineID: "b", gate: .never)
        #expect(report.exitStatus == .incomplete)
        #expect(report.isIncomplete)
    }

    @Test func disabledRulesAndOtherKindsDoNotRun() async throws {
        var rules = try rules([("etc/f1", true, false), ("etc/f2", true, false)])
        rules[1].enabled = false
        let config = ScanTarget(spec: "c", kind: .endpoint, tree: nil, baseID: "C", baseURI: nil)
        let outcome = await Engine(rules: rules, jobs: 2).scan([target(), config])
        #expect(outcome.findings.map(\.ruleID) == ["RB-SYS-001"])
        #expect(outcome.rulesRun.map(\.id) == ["RB-SYS-001"])
    }
}
