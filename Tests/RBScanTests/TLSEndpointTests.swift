import Foundation
import Testing
import RBCore
import RBNet
import RBScan
import RBTestSupport

/// The TLS endpoint scanner and RB-TLS-001..005 against real `openssl s_server`s on 127.0.0.1.
@Suite("TLS endpoints", .serialized)
struct TLSEndpointTests {
    func session(_ uri: String) async -> ScanReport {
        let options = ScanSession.Options(targets: [uri], ruleDirectories: [Repository.rules])
        return await ScanSession.run(options)
    }

    @Test("A modern server: exactly its TLS 1.2 ECDHE-GCM suites and the TLS 1.3 suites, no findings")
    func modern() async throws {
        let server = try TLSTestServer(["-no_tls1", "-no_tls1_1", "-cipher", "ECDHE+AESGCM"])
        defer { server.stop() }
        let facts = await TLSScanner(host: "127.0.0.1", port: server.port).scan()
        #expect(facts.problems.isEmpty, "\(facts.problems)")
        #expect(facts.protocols["SSLv3"]?.supported == false)
        #expect(facts.protocols["TLSv1.0"]?.supported == false)
        #expect(facts.protocols["TLSv1.1"]?.supported == false)
        #expect(Set(facts.protocols["TLSv1.2"]?.cipherSuites ?? [])
                == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])
        #expect(Set(facts.protocols["TLSv1.3"]?.cipherSuites ?? [])
                == ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])

        let report = await session(server.uri)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        #expect(Set(report.rules.map(\.id)).isSuperset(of: ["RB-TLS-001", "RB-TLS-002", "RB-TLS-003", "RB-TLS-004", "RB-TLS-005"]))
        #expect(report.findings.isEmpty, "\(report.findings.map(\.message))")
    }

    @Test("A legacy server: TLS 1.0 only, NULL and static-RSA CBC suites fail the right rules")
    func legacy() async throws {
        let server = try TLSTestServer(["-tls1", "-cipher", "AES128-SHA:NULL-SHA:@SECLEVEL=0"])
        defer { server.stop() }
        let report = await session(server.uri)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.tls)
        #expect(Set(facts.protocols["TLSv1.0"]?.cipherSuites ?? []) == ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_NULL_SHA"])
        #expect(facts.protocols["TLSv1.2"]?.supported == false)
        let got = report.findings.map { "\($0.ruleID) \($0.severity.rawValue) \($0.evidence.key)" }.sorted()
        #expect(got == [
            "RB-TLS-002 medium protocol:TLSv1.0",
            "RB-TLS-003 high protocol-missing:TLSv1.2,TLSv1.3",
            "RB-TLS-004 high broken:TLS_RSA_WITH_NULL_SHA",
            "RB-TLS-005 low cbc:TLS_RSA_WITH_AES_128_CBC_SHA",
            "RB-TLS-005 medium no-forward-secrecy:TLS_RSA_WITH_AES_128_CBC_SHA",
            "RB-TLS-005 medium no-forward-secrecy:TLS_RSA_WITH_NULL_SHA",
        ], "\(got)")
        for finding in report.findings { #expect(finding.location.path == server.uri) }
    }

    @Test("The server's preference order is kept (elimination), and agrees with OpenSSL's own client")
    func preferenceOrder() async throws {
        let server = try TLSTestServer(["-serverpref", "-no_tls1_3", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"])
        defer { server.stop() }
        let facts = await TLSScanner(host: "127.0.0.1", port: server.port).scan()
        #expect(facts.protocols["TLSv1.2"]?.cipherSuites == [
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"])
        #expect(facts.protocols["TLSv1.3"]?.supported == false)
    }

    @Test("A closed port and a malformed target are target errors (exit 2), never an empty pass")
    func unreachable() async throws {
        let port = try TLSTestServer.freePortForTests()
        let report = await session("tls://127.0.0.1:\(port)")
        #expect(report.targets.isEmpty)
        #expect(report.diagnostics.contains { $0.code == "target.unreachable" })
        #expect(report.exitStatus == .usage)
        let malformed = await session("tls://127.0.0.1:0")
        #expect(malformed.diagnostics.contains { $0.code == "target.invalid" })
    }

    @Test("Endpoint specs parse hosts, IPv6 literals and ports; junk is refused",
          arguments: [("tls://127.0.0.1:8443", "tls://127.0.0.1:8443"), ("tls://camera.local", "tls://camera.local:443"),
                      ("tls://[::1]:4443", "tls://[::1]:4443"), ("tls://host/", "tls://host:443")])
    func parsing(spec: String, uri: String) {
        #expect(Endpoint(parsing: spec)?.uri == uri)
    }

    @Test("Refused endpoint specs", arguments: ["tls://", "tls://a:b", "tls://h:70000", "tls://u@h:1", "tls://h/path", "tls://[::1"])
    func refused(spec: String) {
        #expect(Endpoint(parsing: spec) == nil)
    }
}
