import RBChecks
import RBCore
import RBScan
import RBTestSupport
import Testing

@Suite("Shipped rule packs")
struct ShippedRulesTests {
    static let configuration = ScanSession.configuration(ruleDirectories: [Repository.rules],
                                                         baseline: Repository.baselines + "/red-baseline-2.1.yaml")

    @Test func lintClean() {
        #expect(Self.configuration.diagnostics.isEmpty, "\(Self.configuration.diagnostics.map(\.description))")
        #expect(Self.configuration.rules.count >= 19)
    }

    /// Each shipped rule's pass and fail examples, as `rbscan rules test` runs them.
    @Test(arguments: configuration.packs.flatMap(\.rules).map(\.id))
    func examples(ruleID: String) async throws {
        let rule = try #require(Self.configuration.rules.first { $0.id == ruleID })
        let outcome = await RuleTester(adapters: Self.configuration.adapters).test(rule)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.failExamples > 0 && outcome.passExamples > 0)
    }

    @Test func everyRuleHasRemediationAndReferences() {
        for rule in Self.configuration.rules {
            #expect(!rule.remediation.isEmpty, "\(rule.id)")
            #expect(!rule.references.isEmpty, "\(rule.id)")
            #expect(rule.title.count <= 80, "\(rule.id)")
        }
    }
}
