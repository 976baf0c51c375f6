import RBCore
import RBScan
import Testing

@Suite("Endpoint probe registry and target facts")
struct ProbeRegistryTests {
    @Test("Every registered scheme is an endpoint target; each scheme has one probe; others are named as unsupported")
    func schemes() {
        let schemes = EndpointProbes.schemes
        #expect(Set(schemes).count == schemes.count)
        // The shipped probes; a probe added in its own file joins the list without a test edit.
        #expect(Set(schemes).isSuperset(of: ["tls", "ssh", "http", "https", "rtsp", "snmp"]))
        let resolver = TargetResolver(limits: ScanLimits())
        let (targets, diagnostics) = resolver.resolve(schemes.map { "\($0)://127.0.0.1:1" })
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(targets.map { $0.endpoint?.scheme ?? "" } == schemes)
        #expect(targets.allSatisfy { $0.kind == .endpoint && $0.facts.isEmpty })
        let unprobed = TargetResolver.knownUnprobed.filter { !schemes.contains($0) }
        let (none, problems) = resolver.resolve(unprobed.map { "\($0)://127.0.0.1:23" } + ["gopher-x://127.0.0.1:70"])
        #expect(none.isEmpty)
        let expected: [String] = unprobed.map { _ in "target.unsupported" } + ["target.unsupported-scheme"]
        #expect(problems.map { $0.code } == expected)
        #expect(problems.allSatisfy { $0.message.contains(schemes.map { "\($0)://" }.joined(separator: ", ")) })
    }

    @Test("Facts are kept per type; the shorthands read and write the map; merging keeps the newer fact")
    func facts() {
        var target = ScanTarget(spec: "tls://127.0.0.1:1", kind: .endpoint, tree: nil, baseID: "T", baseURI: nil)
        #expect(target.tls == nil && target.facts.isEmpty)
        target.snmp = SNMPFacts(communities: [], sysDescr: nil)
        #expect(target.facts[SNMPFacts.self] != nil && target.ssh == nil)
        var more = TargetFacts()
        more[SNMPFacts.self] = SNMPFacts(communities: ["public"], sysDescr: nil)
        target.facts.merge(more)
        #expect(target.snmp?.communities == ["public"])
        target.snmp = nil
        #expect(target.facts.isEmpty)
    }
}
