import Testing
import RBCore
import RBScan
import RBTestSupport

/// The RTSP probe against a real GStreamer RTSP server on 127.0.0.1.
@Suite("RTSP endpoints", .serialized)
struct RTSPEndpointTests {
    func findings(_ report: ScanReport) -> [String] {
        report.findings.filter { $0.ruleID.hasPrefix("RB-AUTH-00") }.map { "\($0.ruleID) \($0.status.rawValue) \($0.evidence.key)" }.sorted()
    }

    @Test("An open stream fails RB-AUTH-003; the same server with Basic authentication fails RB-AUTH-004 instead")
    func streams() async throws {
        let open = try RTSPTestServer(basicAuth: false)
        defer { open.stop() }
        let report = await ScanSession.run(ScanSession.Options(targets: [open.uri], ruleDirectories: [Repository.rules]))
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.rtsp)
        #expect(facts.methods.contains("DESCRIBE"))
        #expect(facts.paths.first { $0.path == "/live" }?.media == true)
        #expect(findings(report) == ["RB-AUTH-003 fail stream:/live"], "\(findings(report))")

        let locked = try RTSPTestServer(basicAuth: true)
        defer { locked.stop() }
        let lockedReport = await ScanSession.run(ScanSession.Options(targets: [locked.uri], ruleDirectories: [Repository.rules]))
        let lockedFacts = try #require(lockedReport.targets.first?.rtsp)
        #expect(lockedFacts.paths.first { $0.path == "/live" }?.status == 401)
        #expect(findings(lockedReport) == ["RB-AUTH-004 fail rtsp-basic"], "\(findings(lockedReport))")
    }

    @Test("--allow-auth-tests: a Digest RTSP login with admin/12345 and a Basic web login with admin/admin fail RB-PWD-001; other passwords are refused")
    func defaultCredentials() async throws {
        var limits = ScanLimits()
        limits.allowAuthTests = true
        let weak = try RTSPTestServer(auth: .digest(password: "12345"))
        defer { weak.stop() }
        let strong = try RTSPTestServer(auth: .basic(password: "N0t-a-default"))
        defer { strong.stop() }
        let root = try TemporaryDirectory(prefix: "rbscan-www")
        defer { root.remove() }
        try "<title>cam</title>\n".write(toFile: root.url("index.html"), atomically: true, encoding: .utf8)
        try "/:admin:admin\n".write(toFile: root.url("httpd.conf"), atomically: true, encoding: .utf8)
        let (httpd, httpPort) = try LoopbackProcess.launch("/bin/busybox") {
            ["httpd", "-f", "-p", "127.0.0.1:\($0)", "-h", root.path, "-c", root.url("httpd.conf")]
        }
        defer { httpd.stop() }
        let report = await ScanSession.run(ScanSession.Options(targets: [weak.uri, strong.uri, "http://127.0.0.1:\(httpPort)"],
                                                               ruleDirectories: [Repository.rules], limits: limits))
        let got = report.findings.filter { $0.ruleID == "RB-PWD-001" }.map { "\($0.location.path) \($0.evidence.key)" }.sorted()
        #expect(got == ["\(weak.uri) default-login:admin", "http://127.0.0.1:\(httpPort) default-login:admin"].sorted(), "\(got)")
        let refused = try #require(report.targets.first { $0.spec == strong.uri }?.rtsp?.defaultLogin)
        #expect(refused.accepted == nil && refused.attempts == 3 && !refused.lockout)
        #expect(report.diagnostics.contains { $0.code == "auth-tests.enabled" && $0.level == .warning }, "\(report.diagnostics)")

        // Off by default: no credential is sent.
        let quiet = await ScanSession.run(ScanSession.Options(targets: [weak.uri], ruleDirectories: [Repository.rules]))
        #expect(quiet.targets.first?.rtsp?.defaultLogin == nil)
        #expect(!quiet.findings.contains { $0.ruleID == "RB-PWD-001" })
    }
}
