import RBCore
import RBScan
import Testing

@Suite("Endpoint probe registry and target facts")
struct ProbeRegistryTests {
    @Test("Every registered scheme is an endpoint target; each scheme has one probe; others are named as unsupported")
    func schemes() {
        let schemes = EndpointProbes.schemes
        #expect(Set(schemes).count == schemes.count)
        #expect(Set(schemes) == ["tls", "ssh", "http", "https", "rtsp", "snmp"])
        let resolver = TargetResolver(limits: ScanLimits())
        let (targets, diagnostics) = resolver.resolve(schemes.map { "\($0)://127.0.0.1:1" })
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(targets.map { $0.endpoint?.scheme ?? "" } == schemes)
        #expect(targets.allSatisfy { $0.kind == .endpoint && $0.facts.isEmpty })
        let (none, problems) = resolver.resolve(["telnet://127.0.0.1:23", "gopher://127.0.0.1:70"])
        #expect(none.isEmpty)
        #expect(problems.map(\.code) == ["target.unsupported", "target.unsupported-scheme"])
        #expect(problems.allSatisfy { $0.message.contains("tls://, ssh://, http://, https://, rtsp://, snmp://") })
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
