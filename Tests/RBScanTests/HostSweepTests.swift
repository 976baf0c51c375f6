import Foundation
import Testing
import RBCore
import RBScan
@testable import RBNet
import RBTestSupport

/// `rbscan scan HOST`: the port sweep, service identification and the services it hands on, with
/// real servers on 127.0.0.1 (BusyBox telnetd and httpd, OpenSSH, openssl s_server).
@Suite("Host sweep", .serialized)
struct HostSweepTests {
    @Test("telnet, SSH, TLS and HTTP are told apart; TLS and SSH become endpoints of their own; telnet fails RB-IFC-001")
    func sweep() async throws {
        let ssh = try SSHTestServer(.openssh, hostKeys: ["ed25519"], options: ["MACs hmac-sha2-256-etm@openssh.com"])
        defer { ssh.stop() }
        let tls = try TLSTestServer(["-tls1_3"])
        defer { tls.stop() }
        let (telnetd, telnetPort) = try LoopbackProcess.launch("/bin/busybox") { ["telnetd", "-F", "-p", String($0), "-b", "127.0.0.1", "-l", "/bin/false"] }
        defer { telnetd.stop() }
        let root = try TemporaryDirectory(prefix: "rbscan-www")
        defer { root.remove() }
        try "<html>camera</html>\n".write(toFile: root.url("index.html"), atomically: true, encoding: .utf8)
        let (httpd, httpPort) = try LoopbackProcess.launch("/bin/busybox") { ["httpd", "-f", "-p", "127.0.0.1:\($0)", "-h", root.path] }
        defer { httpd.stop() }
        let closed = try TLSTestServer.freePort()

        var limits = ScanLimits()
        limits.ports = [ssh.port, tls.port, telnetPort, httpPort, closed]
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        // The TLS port is also read as HTTPS (s_server -www answers); the HTTP port becomes http://.
        #expect(report.targets.first?.spec == "host://127.0.0.1")
        #expect(Set(report.targets.map(\.spec)) == ["host://127.0.0.1", "ssh://127.0.0.1:\(ssh.port)", "tls://127.0.0.1:\(tls.port)",
                                                    "https://127.0.0.1:\(tls.port)", "http://127.0.0.1:\(httpPort)"],
                "\(report.targets.map(\.spec))")
        let host = try #require(report.targets.first?.host)
        #expect(host.scanned == 5)
        let services = Dictionary(uniqueKeysWithValues: host.ports.map { ($0.port, $0.service) })
        #expect(services == [ssh.port: "ssh", tls.port: "tls", telnetPort: "telnet", httpPort: "http"], "\(host.ports)")
        #expect(report.targets.contains { $0.ssh != nil } && report.targets.contains { $0.tls != nil })
        #expect(report.targets.filter { $0.http != nil }.count == 2)
        let telnet = report.findings.filter { $0.ruleID == "RB-IFC-001" }
        #expect(telnet.map(\.location.path) == ["telnet://127.0.0.1:\(telnetPort)"])
        // None of the kernel-picked ports is in the generic camera profile.
        #expect(Set(report.findings.filter { $0.ruleID == "RB-IFC-005" }.map(\.evidence.key))
                == Set([ssh.port, tls.port, telnetPort, httpPort].map { "undeclared:\($0)" }))
        #expect(report.exitStatus == .gateFailed)
    }

    @Test("Random bytes are not telnet; a service whose probe fails is exit 3 and the host's other findings stay")
    func hostilePorts() async throws {
        // Peers that send random bytes: one with an IAC negotiation pair in the middle, one that
        // starts like a negotiation and goes on as binary, one plain random; and a port that
        // greets as SSH and then sends garbage, so the SSH probe of the derived target fails.
        let script = """
        import os, random, socket, sys
        kind, port = sys.argv[1], int(sys.argv[2])
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port)); s.listen(8)
        rng = random.Random(port)
        while True:
            c, _ = s.accept()
            try:
                junk = bytes(rng.getrandbits(8) for _ in range(4096))
                if kind == "iac-middle": data = junk[:100] + b"\\xff\\xfb\\x01" + junk[100:]
                elif kind == "iac-start": data = b"\\xff\\xfb\\x01" + junk
                elif kind == "ssh": data = b"SSH-2.0-OpenSSH_9.2\\r\\n" + junk
                else: data = junk
                c.sendall(data)
                c.settimeout(2); c.recv(65536)
            except Exception: pass
            c.close()
        """
        var servers: [SpawnedProcess] = []
        defer { servers.forEach { $0.stop() } }
        var ports: [String: UInt16] = [:]
        for kind in ["iac-middle", "iac-start", "random", "ssh"] {
            let (process, port) = try LoopbackProcess.launch("/usr/bin/python3") { ["-c", script, kind, String($0)] }
            servers.append(process)
            ports[kind] = port
        }
        let (telnetd, telnetPort) = try LoopbackProcess.launch("/bin/busybox") { ["telnetd", "-F", "-p", String($0), "-b", "127.0.0.1", "-l", "/bin/false"] }
        defer { telnetd.stop() }

        var limits = ScanLimits()
        limits.ports = Array(ports.values) + [telnetPort]
        limits.networkTimeout = 2
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        let host = try #require(report.targets.first?.host)
        let services = Dictionary(uniqueKeysWithValues: host.ports.map { ($0.port, $0.service) })
        for kind in ["iac-middle", "iac-start", "random"] {
            #expect(services[ports[kind]!] == "unknown", "\(kind): \(host.ports)")
        }
        #expect(services[telnetPort] == "telnet")
        #expect(report.findings.filter { $0.ruleID == "RB-IFC-001" }.map(\.location.path) == ["telnet://127.0.0.1:\(telnetPort)"])
        // The broken SSH service is named, with the host that found it; the rest was judged.
        let unprobed = report.diagnostics.filter { $0.code == "target.service-unprobed" }
        #expect(unprobed.map(\.location?.file) == ["ssh://127.0.0.1:\(ports["ssh"]!)"], "\(report.diagnostics)")
        #expect(unprobed.first?.message.contains("host://127.0.0.1") == true)
        #expect(!report.diagnostics.contains { $0.code == "target.unreachable" })
        #expect(report.isIncomplete)
        #expect(report.exitStatus == (report.gatingFindings.isEmpty ? .incomplete : .gateFailed))
    }

    @Test("Telnet is told by a well-formed negotiation or a text prompt, never by stray bytes")
    func telnetClassifier() {
        #expect(PortSweep.serverFirst([0xff, 0xfd, 0x01, 0xff, 0xfd, 0x1f, 0xff, 0xfb, 0x01]) == "telnet")
        #expect(PortSweep.serverFirst([0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0, 0xff, 0xfb, 0x03] + Array("\r\nlogin: ".utf8)) == "telnet")
        #expect(PortSweep.serverFirst(Array("(none) login: ".utf8)) == "telnet")
        #expect(PortSweep.serverFirst(Array("220 FTP ready\r\n".utf8)) == "ftp")
        #expect(PortSweep.serverFirst([0xff, 0xfb, 0x01, 0x00, 0x9c, 0x03, 0x80, 0xfe, 0x00, 0x11, 0xc3]) == "unknown")
        #expect(PortSweep.serverFirst([0x12, 0xff, 0xfb, 0x01] + Array("login:".utf8)) == "unknown")
        #expect(PortSweep.serverFirst([0x00, 0x01, 0x02, 0x8f, 0x90] + Array("password: ".utf8)) == "unknown")
        #expect(PortSweep.serverFirst([0xff, 0xfa, 0x18, 0x01]) == "unknown")
    }

    @Test("A host with nothing open is a target error; --ports and host specs are validated")
    func nothingOpen() async throws {
        var limits = ScanLimits()
        limits.ports = [try TLSTestServer.freePort()]
        let report = await ScanSession.run(ScanSession.Options(targets: ["host://127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        #expect(report.targets.isEmpty)
        #expect(report.diagnostics.contains { $0.code == "target.unreachable" }, "\(report.diagnostics)")
        #expect(report.exitStatus == .usage)
        let parsed = try #require(HostFacts.parsePorts("23,80,8000-8002,1900/udp,69/UDP,443/tcp"))
        #expect(parsed.tcp == [23, 80, 8000, 8001, 8002, 443])
        #expect(parsed.udp == [1900, 69])
        for bad in ["0", "80-20", "x", "1,,2", "70000", "53/icmp", "/udp"] { #expect(HostFacts.parsePorts(bad) == nil, "\(bad)") }
        let invalid = await ScanSession.run(ScanSession.Options(targets: ["host://a:b:c"], ruleDirectories: [Repository.rules]))
        #expect(invalid.diagnostics.contains { $0.code == "target.invalid" }, "\(invalid.diagnostics)")

        // A malformed profile names its file and line, and nothing is probed.
        let directory = try TemporaryDirectory(prefix: "rbscan-profile")
        defer { directory.remove() }
        try "version: 1\nprofile: x\ntitle: x\ninterfaces:\n  - {port: 80, servce: http}\n".write(toFile: directory.url("bad.yaml"), atomically: true, encoding: .utf8)
        var badLimits = limits
        badLimits.profileFile = directory.url("bad.yaml")
        let bad = await ScanSession.run(ScanSession.Options(targets: ["host://127.0.0.1"], ruleDirectories: [Repository.rules], limits: badLimits))
        #expect(bad.targets.isEmpty)
        #expect(bad.diagnostics.contains { $0.location?.file == directory.url("bad.yaml") && $0.location?.line == 5 }, "\(bad.diagnostics)")
        #expect(bad.exitStatus == .usage)
    }

    @Test("Redis: answering PING without a password fails RB-SYS-008; with requirepass it passes")
    func redis() async throws {
        let (open, openPort) = try LoopbackProcess.launch("/usr/bin/redis-server") {
            ["--port", String($0), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"]
        }
        defer { open.stop() }
        let (locked, lockedPort) = try LoopbackProcess.launch("/usr/bin/redis-server") {
            ["--port", String($0), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", "Xk2-not-default"]
        }
        defer { locked.stop() }
        var limits = ScanLimits()
        limits.ports = [openPort, lockedPort]
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        let host = try #require(report.targets.first?.host)
        #expect(host.ports.map(\.service) == ["redis", "redis"], "\(host.ports)")
        let got = report.findings.filter { $0.ruleID == "RB-SYS-008" }.map(\.location.path)
        #expect(got == ["redis://127.0.0.1:\(openPort)"], "\(got)")
    }
}
