import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
            "RB-TLS-004 high broken:NULL encryption",
            "RB-TLS-005 low cbc:CBC mode; BEAST (CBC in TLS 1.0); Lucky13 padding timing",
            "RB-TLS-005 medium no-forward-secrecy:static RSA key exchange, no forward secrecy; recorded traffic decrypts once the key leaks; ROBOT where the RSA padding oracle exists",
        ], "\(got)")
        // One finding per weakness, listing every suite that has it.
        let staticRSA = try #require(report.findings.first { $0.evidence.key.hasPrefix("no-forward-secrecy:") })
        #expect(Set((staticRSA.evidence.facts["suites"] ?? "").split(separator: " ").map(String.init)) == ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_NULL_SHA"])
        #expect(staticRSA.message.contains("accepts 2 suites (") && staticRSA.message.contains("with TLSv1.0: static RSA key exchange"), "\(staticRSA.message)")
        for finding in report.findings { #expect(finding.location.path == server.uri) }
    }

    @Test("The issue's legacy server: TLS 1.0-1.2 with ALL:COMPLEMENTOFALL, an expired RSA-1024 SHA-1 certificate, 1024-bit DH")
    func legacyEverything() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-dh")
        defer { directory.remove() }
        try ImageFixtures.sh("openssl dhparam -dsaparam -out dh1024.pem 1024 2>/dev/null", in: directory.path)
        let cipherString = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"
        let server = try TLSTestServer(["-no_tls1_3", "-cipher", cipherString, "-dhparam", directory.url("dh1024.pem")],
                                       keySpec: "rsa:1024", digest: "sha1", validity: ("20200101000000Z", "20210101000000Z"))
        defer { server.stop() }
        let report = await session(server.uri)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.tls)
        #expect(facts.problems.isEmpty, "\(facts.problems)")

        // The expected sets come from OpenSSL itself (an RSA certificate, neither PSK nor SRP).
        for (version, expected) in try openSSLSuites(cipherString, exclude: "!aECDSA:!aDSS") {
            #expect(!expected.isEmpty)
            #expect(Set(facts.protocols[version]?.cipherSuites ?? []) == expected,
                    "\(version): \(Set(facts.protocols[version]?.cipherSuites ?? []).symmetricDifference(expected))")
        }
        #expect(facts.protocols["TLSv1.0"]?.cipherSuites.count == 20)
        #expect(facts.protocols["TLSv1.2"]?.cipherSuites.count == 61)
        #expect(TLSFacts.versionOrder.filter { facts.protocols[$0]?.supported == true } == ["TLSv1.0", "TLSv1.1", "TLSv1.2"])
        #expect(facts.dhBits == 1024)
        #expect(Set(facts.protocols["TLSv1.2"]?.groups ?? []) == ["x25519", "secp256r1", "x448", "secp521r1", "secp384r1"])
        #expect(facts.secureRenegotiation == true)
        #expect(facts.compression == false)
        #expect(facts.heartbeat == false)

        // Findings: one per protocol, suite class and certificate problem.
        var byRule: [String: Int] = [:]
        for finding in report.findings { byRule[finding.ruleID, default: 0] += 1 }
        let broken = facts.acceptedSuites.map(\.suite).filter { $0.contains("NULL") || $0.contains("_anon_") }
        #expect(byRule["RB-TLS-001"] == nil)
        #expect(byRule["RB-TLS-002"] == 2)
        #expect(byRule["RB-TLS-003"] == nil)
        // Grouped by weakness: every broken suite is listed by one RB-TLS-004 finding per reason.
        let brokenFindings = report.findings.filter { $0.ruleID == "RB-TLS-004" }
        let listed = brokenFindings.flatMap { ($0.evidence.facts["suites"] ?? "").split(separator: " ").map(String.init) }
        #expect(Set(listed) == Set(broken) && listed.count == Set(listed).count, "\(brokenFindings.map(\.message))")
        #expect(Set(brokenFindings.map(\.evidence.key)).count == brokenFindings.count && brokenFindings.count <= 6)
        #expect(report.findings.contains { $0.ruleID == "RB-TLS-005" && $0.message.contains("BEAST") })
        #expect(byRule["RB-TLS-006"] == 1)
        let certificate = report.findings.filter { $0.ruleID == "RB-TLS-007" || $0.ruleID == "RB-TLS-008" }
            .map { "\($0.ruleID) \($0.severity.rawValue) \($0.evidence.key)" }.sorted()
        #expect(certificate.count == 3, "\(certificate)")
        // The parsed certificate facts of the JSON report.
        let certificateFacts = try #require(facts.certificateFacts)
        #expect(certificateFacts.keyType == "RSA" && certificateFacts.keyBits == 1024)
        #expect(certificateFacts.signatureAlgorithm == "sha1WithRSAEncryption")
        #expect(certificateFacts.notBefore == "2020-01-01T00:00:00Z" && certificateFacts.notAfter == "2021-01-01T00:00:00Z")
        #expect(certificateFacts.selfSigned && certificateFacts.spkiSHA256.count == 64)
        let expired = report.findings.first { $0.ruleID == "RB-TLS-008" }
        #expect(expired?.severity == .medium)
        #expect(expired?.message.contains("expired") == true, "\(expired?.message ?? "")")
        #expect(report.exitStatus == .gateFailed)
    }

    @Test("--ca-file: a chain from that CA naming 127.0.0.1 passes; another CA, or a leaf for another name, fails RB-TLS-008")
    func trust() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-ca")
        defer { directory.remove() }
        try ImageFixtures.sh("""
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 30 \
              -subj /CN=rbscan-test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.pem -days 30 \
              -subj /CN=other-ca 2>/dev/null &&
            for leaf in good:IP:127.0.0.1 wrong:DNS:camera.example; do
              name=${leaf%%:*}; san=${leaf#*:}
              openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $name.key -out $name.csr -subj /CN=$name 2>/dev/null &&
              printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > $name.ext &&
              openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 -sha256 -extfile $name.ext -out $name.pem 2>/dev/null
            done
            """, in: directory.path)
        func scan(_ leaf: String, caFile: String) async throws -> ScanReport {
            let server = try TLSTestServer(["-tls1_3", "-cert", directory.url("\(leaf).pem"), "-key", directory.url("\(leaf).key")])
            defer { server.stop() }
            var limits = ScanLimits()
            limits.caFile = directory.url(caFile)
            return await ScanSession.run(ScanSession.Options(targets: [server.uri], ruleDirectories: [Repository.rules], limits: limits))
        }
        func trustFindings(_ report: ScanReport) -> [String] {
            report.findings.filter { $0.ruleID == "RB-TLS-008" && !$0.message.contains("expires in") }.map(\.evidence.key).sorted()
        }
        let good = try await scan("good", caFile: "ca.pem")
        #expect(good.targets.first?.tls?.trust == TLSFacts.Trust(caFile: directory.url("ca.pem"), verified: true, error: nil, hostnameMatch: true))
        #expect(trustFindings(good) == [])
        let otherCA = try await scan("good", caFile: "other.pem")
        #expect(trustFindings(otherCA) == ["untrusted:unable to get local issuer certificate"])
        let wrongName = try await scan("wrong", caFile: "ca.pem")
        #expect(trustFindings(wrongName) == ["hostname:127.0.0.1"])
        // A CA file that holds no certificate is a usage error, not a silent pass.
        let broken = await ScanSession.run(ScanSession.Options(targets: ["tls://127.0.0.1:1"], ruleDirectories: [Repository.rules],
                                                               limits: { var l = ScanLimits(); l.caFile = directory.url("good.csr"); return l }()))
        #expect(broken.diagnostics.contains { $0.code == "ca-file.invalid" }, "\(broken.diagnostics)")
        #expect(broken.exitStatus == .usage)
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

    @Test("TLS 1.3 only: the three default TLS 1.3 suites, nothing below, no findings")
    func tls13Only() async throws {
        let server = try TLSTestServer(["-tls1_3"])
        defer { server.stop() }
        let report = await session(server.uri)
        let facts = try #require(report.targets.first?.tls)
        #expect(TLSFacts.versionOrder.filter { facts.protocols[$0]?.supported == true } == ["TLSv1.3"])
        #expect(Set(facts.protocols["TLSv1.3"]?.cipherSuites ?? [])
                == ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])
        // The TLS 1.3 groups by HelloRetryRequest elimination: OpenSSL 3.0's default list.
        #expect(Set(facts.protocols["TLSv1.3"]?.groups ?? []) == ["x25519", "secp256r1", "x448", "secp521r1", "secp384r1",
                                                                  "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"])
        #expect(facts.secureRenegotiation == nil)
        #expect(report.findings.isEmpty, "\(report.findings.map(\.message))")

        // A server restricted to P-384 and ffdhe3072 names exactly those, in its own order.
        let narrow = try TLSTestServer(["-tls1_3", "-groups", "ffdhe3072:secp384r1", "-serverpref"])
        defer { narrow.stop() }
        let narrowFacts = await TLSScanner(host: "127.0.0.1", port: narrow.port).scan()
        #expect(narrowFacts.protocols["TLSv1.3"]?.groups == ["ffdhe3072", "secp384r1"])
    }

    /// The suites OpenSSL itself lists for `cipherString` at each version, minus what a server
    /// with this certificate type and no PSK/SRP cannot use: the expected sets, from an oracle
    /// independent of the scanner.
    func openSSLSuites(_ cipherString: String, exclude: String) throws -> [String: Set<String>] {
        var sets: [String: Set<String>] = [:]
        for (version, flag) in [("TLSv1.0", "-tls1"), ("TLSv1.1", "-tls1_1"), ("TLSv1.2", "-tls1_2")] {
            let listing = try ImageFixtures.sh("openssl ciphers -s \(flag) -stdname '\(cipherString):\(exclude):!PSK:!SRP'")
            sets[version] = Set(listing.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
                .filter { !$0.hasPrefix("TLS_AES_") && !$0.hasPrefix("TLS_CHACHA20_POLY1305_SHA256") }
        }
        return sets
    }

    @Test("An ECDSA certificate: exactly the ECDSA-authenticated and anonymous suites OpenSSL lists")
    func ecdsa() async throws {
        let server = try TLSTestServer(["-no_tls1_3", "-cipher", "ALL:@SECLEVEL=0"],
                                       keySpec: "ec -pkeyopt ec_paramgen_curve:prime256v1")
        defer { server.stop() }
        let facts = await TLSScanner(host: "127.0.0.1", port: server.port).scan()
        #expect(facts.problems.isEmpty, "\(facts.problems)")
        let expected = try openSSLSuites("ALL:@SECLEVEL=0", exclude: "!aRSA:!aDSS")
        for (version, suites) in expected {
            #expect(!suites.isEmpty)
            #expect(Set(facts.protocols[version]?.cipherSuites ?? []) == suites,
                    "\(version): \(Set(facts.protocols[version]?.cipherSuites ?? []).symmetricDifference(suites))")
        }
        #expect(facts.protocols["TLSv1.2"]?.cipherSuites.contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256") == true)
    }

    @Test("TLS 1.2 AEAD only: exactly the ECDHE-GCM and ChaCha20 suites, nothing else, no findings")
    func tls12AEAD() async throws {
        let server = try TLSTestServer(["-tls1_2", "-cipher", "ECDHE+AESGCM:ECDHE+CHACHA20"])
        defer { server.stop() }
        let report = await session(server.uri)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.tls)
        #expect(TLSFacts.versionOrder.filter { facts.protocols[$0]?.supported == true } == ["TLSv1.2"])
        #expect(Set(facts.protocols["TLSv1.2"]?.cipherSuites ?? []) == [
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"])
        #expect(facts.dhBits == nil)
        #expect(report.findings.isEmpty, "\(report.findings.map(\.message))")
    }

    @Test("The served certificate is read through OpenSSL: RSA-1024 with SHA-1 fails RB-TLS-007")
    func weakCertificate() async throws {
        let server = try TLSTestServer(["-cipher", "ALL:@SECLEVEL=0"], keySpec: "rsa:1024", digest: "sha1")
        defer { server.stop() }
        let report = await session(server.uri)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let facts = try #require(report.targets.first?.tls)
        #expect(facts.certificate?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
        let certificateFindings = report.findings.filter { $0.ruleID == "RB-TLS-007" || $0.ruleID == "RB-TLS-008" }
            .map { "\($0.ruleID) \($0.severity.rawValue) \($0.message)" }.sorted()
        #expect(certificateFindings == [
            "RB-TLS-007 high certificate /CN=rbscan-test has a weak key: RSA-1024 (at least 2048)",
            "RB-TLS-007 low certificate /CN=rbscan-test is signed with sha1WithRSAEncryption (self-signed)",
        ], "\(certificateFindings)")
        // A good certificate (the other tests' RSA-2048 SHA-256, one year) raises nothing.
        let good = try TLSTestServer(["-tls1_3"])
        defer { good.stop() }
        let clean = await session(good.uri)
        #expect(clean.findings.isEmpty, "\(clean.findings.map(\.message))")
    }

    @Test("Key exchange: a 1024-bit DH prime and a server that accepts secp224r1 fail RB-TLS-006")
    func keyExchange() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-dh")
        defer { directory.remove() }
        try ImageFixtures.sh("openssl dhparam -out dh1024.pem 1024 2>/dev/null", in: directory.path)
        let server = try TLSTestServer(["-no_tls1_3", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
                                        "-dhparam", directory.url("dh1024.pem"), "-groups", "secp224r1:prime256v1"])
        defer { server.stop() }
        let report = await session(server.uri)
        let facts = try #require(report.targets.first?.tls)
        #expect(facts.dhBits == 1024)
        #expect(facts.protocols["TLSv1.2"]?.groups == ["secp224r1", "secp256r1"])
        let got = report.findings.filter { $0.ruleID == "RB-TLS-006" }.map(\.evidence.key).sorted()
        #expect(got == ["curve:secp224r1", "dh:1024"], "\(got)")

        // The default OpenSSL server (ffdhe2048-class DH, its default curves) passes.
        let good = try TLSTestServer(["-no_tls1_3", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256"])
        defer { good.stop() }
        let clean = await session(good.uri)
        let cleanFacts = try #require(clean.targets.first?.tls)
        #expect((cleanFacts.dhBits ?? 0) >= 2048)
        // OpenSSL 3.0's default groups, each found by elimination.
        #expect(Set(cleanFacts.protocols["TLSv1.2"]?.groups ?? []) == ["x25519", "secp256r1", "x448", "secp521r1", "secp384r1"])
        #expect(clean.findings.filter { $0.ruleID == "RB-TLS-006" }.isEmpty, "\(clean.findings.map(\.message))")
    }

    @Test("A plain-TCP service and a stalling one are target errors within the timeout, never a hang")
    func notTLS() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-nottls")
        defer { directory.remove() }
        // Two listeners: one answers every connection with an HTTP response, one never answers.
        let script = """
        import socket, threading, sys
        def serve(sock, reply):
            while True:
                conn, _ = sock.accept()
                if reply:
                    conn.recv(4096); conn.sendall(b"HTTP/1.0 400 Bad Request\\r\\n\\r\\n"); conn.close()
                else:
                    threading.Timer(30, conn.close).start()
        socks = []
        for reply in (True, False):
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64); socks.append(s)
            threading.Thread(target=serve, args=(s, reply), daemon=True).start()
        print(socks[0].getsockname()[1], socks[1].getsockname()[1], flush=True)
        sys.stdin.read()
        """
        try script.write(toFile: directory.url("serve.py"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [directory.url("serve.py")]
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        var bytes = Data()
        while !bytes.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            bytes += chunk
        }
        let line = String(decoding: bytes, as: UTF8.self)
        let ports = line.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt16($0) }
        try #require(ports.count == 2, "listener did not start: \(line)")

        var limits = ScanLimits()
        limits.networkTimeout = 1
        for port in ports {
            let start = ContinuousClock.now
            let options = ScanSession.Options(targets: ["tls://127.0.0.1:\(port)"], ruleDirectories: [Repository.rules], limits: limits)
            let report = await ScanSession.run(options)
            #expect(report.targets.isEmpty)
            #expect(report.diagnostics.contains { $0.code == "target.unreachable" }, "\(report.diagnostics)")
            #expect(report.exitStatus == .usage)
            #expect(ContinuousClock.now - start < .seconds(8), "port \(port) took \(ContinuousClock.now - start)")
        }
    }

    @Test("A closed port and a malformed target are target errors (exit 2), never an empty pass")
    func unreachable() async throws {
        let port = try TLSTestServer.freePort()
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
