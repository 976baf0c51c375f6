import Foundation
import Testing
import RBCore
@testable import RBNet
import RBScan
import RBTestSupport

/// The SNMP probe against a real net-snmp agent on 127.0.0.1.
@Suite("SNMP endpoints", .serialized)
struct SNMPEndpointTests {
    /// snmpd on a UDP port of 127.0.0.1 with one read-only community.
    func agent(community: String) throws -> (SpawnedProcess, UInt16, TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "rbscan-snmp")
        try "rocommunity \(community) 127.0.0.1\nsysDescr rbscan test agent\n".write(toFile: directory.url("snmpd.conf"), atomically: true, encoding: .utf8)
        // A free UDP port (a TCP-free one may be a UDP server's of another test), retried until
        // snmpd binds it.
        let (process, port) = try LoopbackProcess.launchUDP("/usr/sbin/snmpd") {
            ["-f", "-C", "-c", directory.url("snmpd.conf"), "-p", directory.url("pid"), "udp:127.0.0.1:\($0)"]
        }
        return (process, port, directory)
    }

    @Test("An agent answering community public fails RB-IFC-008; one with a private community name does not")
    func communities() async throws {
        let (open, openPort, openDirectory) = try agent(community: "public")
        defer { open.stop(); openDirectory.remove() }
        // UDP has no accept: wait until the agent answers.
        var facts = SNMPFacts(communities: [], sysDescr: nil)
        for _ in 0..<100 where facts.communities.isEmpty {
            facts = await SNMPProbe(host: "127.0.0.1", port: openPort, timeout: 0.2).scan()
            if facts.communities.isEmpty { usleep(100_000) }
        }
        #expect(facts == SNMPFacts(communities: ["public"], sysDescr: "rbscan test agent"))
        let report = await ScanSession.run(ScanSession.Options(targets: ["snmp://127.0.0.1:\(openPort)"], ruleDirectories: [Repository.rules]))
        #expect(report.findings.map { "\($0.ruleID) \($0.evidence.key)" } == ["RB-IFC-008 community:public"])

        let (closed, closedPort, closedDirectory) = try agent(community: "Xk2-not-default")
        defer { closed.stop(); closedDirectory.remove() }
        // Up and answering its own community before the default ones are judged.
        var up = false
        for _ in 0..<100 where !up {
            up = SNMPProbe(host: "127.0.0.1", port: closedPort, timeout: 0.2).get(community: "Xk2-not-default") != nil
            if !up { usleep(100_000) }
        }
        #expect(up)
        let quiet = await ScanSession.run(ScanSession.Options(targets: ["snmp://127.0.0.1:\(closedPort)"], ruleDirectories: [Repository.rules]))
        #expect(quiet.targets.first?.snmp?.communities == [])
        #expect(!quiet.findings.contains { $0.ruleID == "RB-IFC-008" })
        #expect(quiet.diagnostics.isEmpty, "\(quiet.diagnostics)")
    }

    @Test("BER: the GetRequest encodes sysDescr.0; a GetResponse's OCTET STRING is read")
    func ber() {
        let request = SNMPProbe.getRequest(community: "public", requestID: 7)
        #expect(request.first == 0x30 && request.contains(0xa0))
        #expect(request.firstRange(of: [0x04, 6] + Array("public".utf8)) != nil)
        let value = Array("Linux cam".utf8)
        let response = SNMPProbe.tlv(0x30, [0x02, 0x01, 0x01] + SNMPProbe.tlv(0x04, Array("public".utf8))
            + SNMPProbe.tlv(0xa2, [0x02, 0x01, 0x07, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]
                + SNMPProbe.tlv(0x30, SNMPProbe.tlv(0x30, SNMPProbe.tlv(0x06, SNMPProbe.sysDescrOID) + SNMPProbe.tlv(0x04, value)))))
        #expect(SNMPProbe.parseResponse(response) == "Linux cam")
        #expect(SNMPProbe.parseResponse([0x16, 3, 1]) == nil)
    }
}
