import Foundation
import Testing
import RBCore
@testable import RBNet
import RBScan
import RBTestSupport

/// The SSH probe and RB-DAT-004 against real OpenSSH and Dropbear servers on 127.0.0.1.
@Suite("SSH endpoints", .serialized)
struct SSHEndpointTests {
    func session(_ uri: String) async -> ScanReport {
        await ScanSession.run(ScanSession.Options(targets: [uri], ruleDirectories: [Repository.rules]))
    }

    func findings(_ report: ScanReport) -> [String] {
        report.findings.filter { $0.ruleID == "RB-DAT-004" }.map { "\($0.severity.rawValue) \($0.evidence.key)" }.sorted()
    }

    @Test("A weak OpenSSH server: 1024-bit RSA, group1, 3DES, HMAC-MD5 fail high; SHA-1 algorithms are low")
    func weakOpenSSH() async throws {
        let server = try SSHTestServer(.openssh, hostKeys: ["rsa:1024", "ed25519"], options: [
            "KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1", "Ciphers +3des-cbc",
            "MACs +hmac-md5,hmac-sha1", "HostKeyAlgorithms +ssh-rsa"])
        defer { server.stop() }
        let report = await session(server.uri)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.ssh)
        #expect(facts.banner.hasPrefix("SSH-2.0-OpenSSH_"))
        #expect(facts.problems.isEmpty, "\(facts.problems)")
        #expect(facts.hostKeys.map { "\($0.type) \($0.bits)" } == ["ssh-ed25519 256", "ssh-rsa 1024"])
        // The host keys are the server's: the fingerprints OpenSSH prints.
        #expect(facts.hostKeys.first { $0.type == "ssh-rsa" }?.sha256 == (try server.fingerprintHex(0)))
        #expect(facts.hostKeys.first { $0.type == "ssh-ed25519" }?.sha256 == (try server.fingerprintHex(1)))
        #expect(findings(report) == [
            "high MAC:hmac-md5", "high cipher:3des-cbc", "high host-key:ssh-rsa:1024", "high key exchange:diffie-hellman-group1-sha1",
            "low MAC:hmac-sha1", "low MAC:hmac-sha1-etm@openssh.com", "low host key algorithm:ssh-rsa",
            "low key exchange:diffie-hellman-group-exchange-sha1",
        ], "\(findings(report))")
        #expect(report.exitStatus == .gateFailed)
        for finding in report.findings { #expect(finding.location.path == server.uri) }
    }

    @Test("A hardened OpenSSH server (Ed25519 + RSA-3072, SHA-2 ETM MACs) has no findings")
    func strongOpenSSH() async throws {
        let server = try SSHTestServer(.openssh, hostKeys: ["ed25519", "rsa:3072"], options: [
            "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com"])
        defer { server.stop() }
        let report = await session(server.uri)
        let facts = try #require(report.targets.first?.ssh)
        #expect(facts.hostKeys.map { "\($0.type) \($0.bits)" } == ["ssh-ed25519 256", "ssh-rsa 3072"])
        #expect(facts.strictKex)
        #expect(facts.gexModulusBits == nil)       // OpenSSH refuses a 1024-bit group-exchange request
        #expect(report.findings.isEmpty, "\(report.findings.map(\.message))")
        #expect(report.exitStatus == .ok)
    }

    @Test("Dropbear: its banner, host keys and its SHA-1 defaults (low)")
    func dropbear() async throws {
        let server = try SSHTestServer(.dropbear, hostKeys: ["rsa:2048", "ed25519"])
        defer { server.stop() }
        let report = await session(server.uri)
        let facts = try #require(report.targets.first?.ssh)
        #expect(facts.banner.hasPrefix("SSH-2.0-dropbear"))
        #expect(facts.hostKeys.map { "\($0.type) \($0.bits)" } == ["ssh-ed25519 256", "ssh-rsa 2048"])
        #expect(facts.hostKeys.first { $0.type == "ssh-rsa" }?.sha256 == (try server.fingerprintHex(0)))
        #expect(findings(report) == [
            "low MAC:hmac-sha1", "low host key algorithm:ssh-rsa", "low key exchange:diffie-hellman-group14-sha1",
        ], "\(findings(report))")
    }

    @Test("A closed port and a TLS service are target errors (exit 2) within the timeout")
    func notSSH() async throws {
        let port = try TLSTestServer.freePort()
        let closed = await session("ssh://127.0.0.1:\(port)")
        #expect(closed.targets.isEmpty)
        #expect(closed.diagnostics.contains { $0.code == "target.unreachable" })
        #expect(closed.exitStatus == .usage)

        let tls = try TLSTestServer(["-tls1_3"])
        defer { tls.stop() }
        var limits = ScanLimits()
        limits.networkTimeout = 1
        let start = ContinuousClock.now
        let report = await ScanSession.run(ScanSession.Options(targets: ["ssh://127.0.0.1:\(tls.port)"],
                                                               ruleDirectories: [Repository.rules], limits: limits))
        #expect(report.targets.isEmpty)
        #expect(report.diagnostics.contains { $0.code == "target.unreachable" }, "\(report.diagnostics)")
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test("Wire format: packets, KEXINIT name-lists and host key blobs")
    func wire() {
        let packet = SSHWire.packet([20, 1, 2, 3])
        #expect(packet.count % 8 == 0)
        #expect(Int(packet[3]) == packet.count - 4)
        #expect(packet[4] >= 4)
        var kexinit: [UInt8] = [20] + [UInt8](repeating: 0, count: 16)
        for list in ["curve25519-sha256,diffie-hellman-group1-sha1", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256",
                     "hmac-sha2-256", "none", "none", "", ""] {
            kexinit += SSHWire.string(Array(list.utf8))
        }
        #expect(SSHWire.kexinit(kexinit + [0, 0, 0, 0, 0])?.lists.first == ["curve25519-sha256", "diffie-hellman-group1-sha1"])
        #expect(SSHWire.kexinit(Array(kexinit.prefix(30))) == nil)
        let modulus: [UInt8] = [0x00, 0xc1] + [UInt8](repeating: 0xab, count: 127)        // 1024 bits
        let rsa = SSHWire.string(Array("ssh-rsa".utf8)) + SSHWire.string([1, 0, 1]) + SSHWire.string(modulus)
        #expect(SSHWire.hostKey(rsa)?.type == "ssh-rsa")
        #expect(SSHWire.hostKey(rsa)?.bits == 1024)
        #expect(SSHWire.hostKey([0, 0, 0, 99]) == nil)
    }
}
