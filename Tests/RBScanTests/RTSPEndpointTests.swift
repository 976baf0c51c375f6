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
}
