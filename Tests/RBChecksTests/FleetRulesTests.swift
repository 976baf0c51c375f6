import RBChecks
import RBCore
import Testing

@Suite("Fleet checks")
struct FleetRulesTests {
    /// A one-rule pack: `id` bound as `binding` (YAML lines at the rule's indentation) says.
    func rule(_ id: String, _ binding: String) throws -> Rule {
        let text = """
            version: 1
            pack: t
            title: T
            rules:
              - id: \(id)
                title: fleet rule
                category: TLS
                severity: high
                description: d
                remediation: r
            \(binding)

            """
        let (pack, diagnostics) = RuleLoader(registry: BuiltinChecks.registry).loadPack(text: text, file: "t.yaml")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        return try #require(pack?.rules.first)
    }

    /// RB-TLS-009 as the shipped pack binds it: a per-target check and the fleet check.
    func tlsRule() throws -> Rule {
        try rule("RB-TLS-009", """
                checks:
                  - check: tls.shared-key
                    targets: [firmware]
                  - check: fleet.shared-keys
                    targets: [fleet]
            """)
    }

    func endpoint(_ spec: String, key: String, name: String? = nil) -> ScanTarget {
        var target = ScanTarget(spec: spec, kind: .endpoint, tree: nil, baseID: spec, baseURI: nil)
        target.fleet = FleetFacts(tlsKeys: [key])
        target.name = name
        return target
    }

    func findings(_ targets: [ScanTarget], rule: Rule? = nil, registry: CheckRegistry? = nil) throws -> [String] {
        var report = ScanReport(targets: targets, rules: [try rule ?? tlsRule()], findings: [], diagnostics: [], baselineID: "b", gate: .severity(.high))
        FleetRules.apply(to: &report, registry: registry)
        FleetRules.apply(to: &report, registry: registry)   // again: replaces, never doubles
        return report.findings.map { "\(targets[$0.targetIndex].spec) \($0.message.contains("1 other device") ? "1" : "?")" }.sorted()
    }

    @Test("One key on two devices fails on both; the TLS and HTTPS services of one host are one device; inventory names tell devices apart")
    func devices() throws {
        #expect(try findings([endpoint("tls://192.0.2.1:443", key: "k"), endpoint("tls://192.0.2.2:443", key: "k")])
                == ["tls://192.0.2.1:443 1", "tls://192.0.2.2:443 1"])
        #expect(try findings([endpoint("tls://192.0.2.1:443", key: "k"), endpoint("https://192.0.2.1:443", key: "k")]) == [])
        #expect(try findings([endpoint("tls://192.0.2.1:443", key: "k"), endpoint("tls://192.0.2.2:443", key: "other")]) == [])
        #expect(try findings([endpoint("tls://127.0.0.1:8443", key: "k", name: "nvr-1"), endpoint("tls://127.0.0.1:9443", key: "k", name: "nvr-2")]).count == 2)
    }

    @Test("A rule read back from a report names its fleet check, which the registry builds; a report of an rbscan before fleet checks gets the rule's known one")
    func rulesFromReports() throws {
        let shared = [endpoint("tls://192.0.2.1:443", key: "k"), endpoint("tls://192.0.2.2:443", key: "k")]
        let named = try #require(ReportReader.rule(id: "RB-TLS-009", title: "t", category: "TLS", severity: "high", description: "d",
                                                  rationale: nil, remediation: "r", references: [], checks: "tls.shared-key, fleet.shared-keys",
                                                  pack: "tls", targets: ["firmware", "fleet"], file: "r.json"))
        #expect(try findings(shared, rule: named, registry: BuiltinChecks.registry).count == 2)
        // Without the registry the named check cannot be built: nothing is invented.
        #expect(try findings(shared, rule: named).isEmpty)
        let legacy = try #require(ReportReader.rule(id: "RB-TLS-009", title: "t", category: "TLS", severity: "high", description: "d",
                                                   rationale: nil, remediation: "r", references: [], checks: "tls.shared-key",
                                                   pack: "tls", targets: ["firmware"], file: "old.json"))
        #expect(try findings(shared, rule: legacy, registry: BuiltinChecks.registry).count == 2)
    }

    @Test("A rule bound to a fleet check alone joins every run of several targets, facts or not, and no single-target run")
    func fleetOnlyRule() throws {
        let fleetOnly = try rule("ACME-TLS-001", """
                check: fleet.shared-keys
                targets: [fleet]
            """)
        func rulesRun(_ targets: [ScanTarget]) -> [String] {
            var report = ScanReport(targets: targets, rules: [], findings: [], diagnostics: [], baselineID: "b", gate: .severity(.high))
            FleetRules.apply(to: &report, available: [fleetOnly])
            return report.rules.map(\.id)
        }
        let bare = ["tls://192.0.2.1:443", "tls://192.0.2.2:443"].map { ScanTarget(spec: $0, kind: .endpoint, tree: nil, baseID: $0, baseURI: nil) }
        #expect(rulesRun(bare) == ["ACME-TLS-001"])
        #expect(rulesRun([bare[0]]) == [])
        #expect(rulesRun([endpoint("tls://192.0.2.1:443", key: "k")]) == ["ACME-TLS-001"])
    }

    @Test("A fleet check is never run on a single target")
    func notPerTarget() async throws {
        let check = SharedKeyFleetCheck(options: .init())
        #expect(SharedKeyFleetCheck.targetKinds == [.fleet])
        let context = CheckContext(target: endpoint("tls://192.0.2.1:443", key: "k"), limits: ScanLimits(), ruleID: "RB-TLS-009", sink: DiagnosticSink())
        await #expect(throws: (any Error).self) { _ = try await check.run(in: context) }
    }
}
