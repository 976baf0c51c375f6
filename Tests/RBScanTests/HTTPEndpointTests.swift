import Foundation
import Testing
import RBCore
import RBScan
import RBTestSupport

/// The HTTP probe and the web rules against real servers on 127.0.0.1: BusyBox httpd with Basic
/// authentication, Python's http.server (directory listing), openssl s_server -www (HTTPS).
@Suite("HTTP endpoints", .serialized)
struct HTTPEndpointTests {
    func session(_ uri: String) async -> ScanReport {
        await ScanSession.run(ScanSession.Options(targets: [uri], ruleDirectories: [Repository.rules]))
    }

    func findings(_ report: ScanReport) -> [String] {
        report.findings.map { "\($0.ruleID) \($0.severity.rawValue) \($0.evidence.key)" }.sorted()
    }

    @Test("BusyBox httpd asking for Basic credentials over cleartext fails RB-AUTH-004 and RB-DAT-001; its headers fail RB-WEB-001/002")
    func basicAuth() async throws {
        let root = try TemporaryDirectory(prefix: "rbscan-www")
        defer { root.remove() }
        try "<html><title>Login</title><form><input type=\"password\"></form></html>\n".write(toFile: root.url("index.html"), atomically: true, encoding: .utf8)
        try "/:admin:secret\n".write(toFile: root.url("httpd.conf"), atomically: true, encoding: .utf8)
        let (httpd, port) = try LoopbackProcess.launch("/bin/busybox") {
            ["httpd", "-f", "-p", "127.0.0.1:\($0)", "-h", root.path, "-c", root.url("httpd.conf")]
        }
        defer { httpd.stop() }
        let report = await session("http://127.0.0.1:\(port)")
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.http)
        #expect(facts.root.status == 401)
        #expect(facts.trace?.echoed == false)
        #expect(facts.authBypass.map(\.path) == ["/system/deviceInfo", "/Security/users"])     // refused without ?auth=, and with it
        #expect(findings(report) == [
            "RB-AUTH-004 high basic", "RB-DAT-001 high cleartext-login", "RB-WEB-001 low csp", "RB-WEB-001 low nosniff",
            "RB-WEB-001 low referrer-policy", "RB-WEB-002 medium framing",
        ], "\(findings(report))")
        for finding in report.findings { #expect(finding.location.path == "http://127.0.0.1:\(port)") }
    }

    @Test("A directory index at / fails RB-WEB-004; an unauthenticated device-info path fails RB-AUTH-001; TRACE refused (501) passes")
    func listing() async throws {
        let root = try TemporaryDirectory(prefix: "rbscan-www")
        defer { root.remove() }
        try "x\n".write(toFile: root.url("firmware.bin"), atomically: true, encoding: .utf8)
        // A device-info document served without authentication (the profile's marker inside).
        try FileManager.default.createDirectory(atPath: root.url("ISAPI/System"), withIntermediateDirectories: true)
        try "<?xml version=\"1.0\"?><DeviceInfo><model>DS-2CD</model></DeviceInfo>\n"
            .write(toFile: root.url("ISAPI/System/deviceInfo"), atomically: true, encoding: .utf8)
        let (server, port) = try LoopbackProcess.launch("/usr/bin/python3") {
            ["-m", "http.server", String($0), "--bind", "127.0.0.1", "--directory", root.path]
        }
        defer { server.stop() }
        let report = await session("http://127.0.0.1:\(port)")
        let facts = try #require(report.targets.first?.http)
        #expect(facts.root.directoryListing)
        #expect(facts.trace?.status == 501)
        #expect(findings(report).filter { $0.hasPrefix("RB-WEB-004") || $0.hasPrefix("RB-WEB-005") || $0.hasPrefix("RB-DAT-001") }
                == ["RB-WEB-004 medium listing:/"], "\(findings(report))")
        #expect(facts.sensitive.filter(\.marker).map(\.path) == ["/ISAPI/System/deviceInfo"])
        #expect(findings(report).filter { $0.hasPrefix("RB-AUTH-001") } == ["RB-AUTH-001 critical unauthenticated:/ISAPI/System/deviceInfo"])
    }

    @Test("HTTPS: the page is read over TLS and judged on HSTS too; a closed port is a target error")
    func https() async throws {
        let server = try TLSTestServer(["-tls1_3"])
        defer { server.stop() }
        let report = await session("https://127.0.0.1:\(server.port)")
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        #expect(report.targets.first?.http?.root.status == 200)
        #expect(findings(report).contains("RB-WEB-001 low hsts"), "\(findings(report))")
        #expect(!findings(report).contains { $0.hasPrefix("RB-DAT-001") || $0.hasPrefix("RB-AUTH-004") })

        let closed = await session("http://127.0.0.1:\(try TLSTestServer.freePort())")
        #expect(closed.diagnostics.contains { $0.code == "target.unreachable" })
        #expect(closed.exitStatus == .usage)
    }
}
