import RBCore
import Testing

@Suite("Fleet rules")
struct FleetRulesTests {
    func tlsRule() throws -> Rule {
        let text = """
            version: 1
            pack: t
            title: T
            rules:
              - id: RB-TLS-009
                title: unique keys
                category: TLS
                severity: high
                description: d
                remediation: r
                targets: [firmware]
                check: test.probe
                options: {path: x, fail: false, explode: false}

            """
        let (pack, diagnostics) = RuleLoader(registry: probeRegistry).loadPack(text: text, file: "t.yaml")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        return try #require(pack?.rules.first)
    }

    func endpoint(_ spec: String, key: String, name: String? = nil) -> ScanTarget {
        var target = ScanTarget(spec: spec, kind: .endpoint, tree: nil, baseID: spec, baseURI: nil)
        target.fleet = FleetFacts(tlsKeys: [key])
        target.name = name
        return target
    }

    func findings(_ targets: [ScanTarget]) throws -> [String] {
        var report = ScanReport(targets: targets, rules: [try tlsRule()], findings: [], diagnostics: [], baselineID: "b", gate: .severity(.high))
        FleetRules.apply(to: &report)
        FleetRules.apply(to: &report)   // again: replaces, never doubles
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
}
