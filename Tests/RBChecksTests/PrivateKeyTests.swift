import Foundation
import RBChecks
import RBCore
import RBTestSupport
import Testing

/// RB-SEN-001 on real keys made in the test (openssl, ssh-keygen, dropbearkey) planted in a tree
/// beside real crypto libraries of this machine, whose PEM label strings must not be reported.
@Suite("Private keys, confirmed by parsing")
struct PrivateKeyTests {
    @Test("Every planted key is found once with its kind and encryption; libcrypto, libssl, libssh and the openssl binary give nothing")
    func plantedAndLibraries() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-keys")
        defer { directory.remove() }
        _ = try ImageFixtures.sh("""
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa8.pem 2>/dev/null
            openssl rsa -in rsa8.pem -traditional -out rsa1.pem 2>/dev/null
            openssl ecparam -name prime256v1 -genkey -noout -out ec.pem
            openssl pkcs8 -topk8 -in ec.pem -v2 aes-256-cbc -passout pass:camera123 -out ec-enc.pem
            openssl pkey -in ec.pem -outform DER -out ec.der
            ssh-keygen -q -t ed25519 -N '' -f ed
            ssh-keygen -q -t ed25519 -N 'secret phrase' -f ed-enc
            dropbearkey -t ed25519 -f dropbear_ed25519_host_key >/dev/null 2>&1
            openssl req -x509 -new -key ec.pem -subj /CN=cam -days 1 -out cert.pem 2>/dev/null
            openssl pkcs12 -export -inkey ec.pem -in cert.pem -passout pass: -out open.p12 2>/dev/null
            openssl pkcs12 -export -inkey ec.pem -in cert.pem -passout pass:hik12345 -out locked.pfx 2>/dev/null
            openssl pkcs12 -export -nokeys -in cert.pem -passout pass: -out certs.p12 2>/dev/null
            """, in: directory.path)
        func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
        var files: [String: MemoryTree.Item] = [
            "etc/ssl/private/rsa8.pem": MemoryTree.Item(content: try bytes(directory.url("rsa8.pem"))),
            "etc/ssl/private/rsa1.pem": MemoryTree.Item(content: try bytes(directory.url("rsa1.pem"))),
            "etc/ssl/private/ec-enc.pem": MemoryTree.Item(content: try bytes(directory.url("ec-enc.pem"))),
            "etc/ssl/private/device.der": MemoryTree.Item(content: try bytes(directory.url("ec.der"))),
            "root/.ssh/id_ed25519": MemoryTree.Item(content: try bytes(directory.url("ed"))),
            "root/.ssh/id_ed25519_enc": MemoryTree.Item(content: try bytes(directory.url("ed-enc"))),
            "etc/dropbear/dropbear_ed25519_host_key": MemoryTree.Item(content: try bytes(directory.url("dropbear_ed25519_host_key"))),
            "etc/cloud/device.p12": MemoryTree.Item(content: try bytes(directory.url("open.p12"))),
            "usr/share/cam/identity": MemoryTree.Item(content: try bytes(directory.url("ec.der"))),
            "etc/cloud/client.pfx": MemoryTree.Item(content: try bytes(directory.url("locked.pfx"))),
            "etc/cloud/ca.p12": MemoryTree.Item(content: try bytes(directory.url("certs.p12"))),
            // A key compiled into a program, between NUL bytes.
            "usr/bin/cloudd": MemoryTree.Item(content: [0x7f, 0x45, 0x4c, 0x46, 0, 0, 10] + (try bytes(directory.url("ec.pem"))) + [0, 0]),
        ]
        for library in ["/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                        "/usr/lib/x86_64-linux-gnu/libssh.so.4", "/usr/bin/openssl", "/usr/bin/ssh-keygen"] {
            files[String(library.dropFirst())] = MemoryTree.Item(content: try bytes(library))
        }
        let (observations, diagnostics) = try await run(PrivateKeyCheck.self, "{}", files: files)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let got = observations.map { "\($0.location.path) \($0.evidence.facts["kind"] ?? "") \($0.evidence.facts["encrypted"] ?? "")" }.sorted()
        #expect(got == [
            "etc/cloud/client.pfx PKCS#12 bundle (password-protected) true",
            "etc/cloud/device.p12 PKCS#12 private key false",
            "etc/dropbear/dropbear_ed25519_host_key Dropbear ssh-ed25519 host key false",
            "etc/ssl/private/device.der DER private key false",
            "etc/ssl/private/ec-enc.pem PKCS#8 private key true",
            "etc/ssl/private/rsa1.pem RSA private key false",
            "etc/ssl/private/rsa8.pem PKCS#8 private key false",
            "root/.ssh/id_ed25519 OpenSSH private key false",
            "root/.ssh/id_ed25519_enc OpenSSH private key true",
            "usr/bin/cloudd EC private key false",
            "usr/share/cam/identity DER private key false",
        ], "\(got)")
        // The same RSA key in two encodings has one identity (its public key), and no key text is in the evidence.
        let rsa = observations.filter { $0.location.path.contains("rsa") }.map(\.evidence.key)
        #expect(Set(rsa).count == 1)
        #expect(observations.allSatisfy { $0.evidence.snippet == nil })
        #expect(observations.filter { $0.evidence.facts["encrypted"] == "true" }.allSatisfy { $0.severity == .low })
    }

    @Test("A key in a large binary of a directory tree is found wherever it falls against the 1 MiB read pieces; a binary without one is not read whole")
    func keyAcrossStreamedPieces() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-keys-stream")
        defer { directory.remove() }
        _ = try ImageFixtures.sh("openssl ecparam -name prime256v1 -genkey -noout -out ec.pem", in: directory.path)
        let key = Array(try Data(contentsOf: URL(fileURLWithPath: directory.url("ec.pem"))))
        let piece = 1 << 20
        var items: [String: FixtureWriter.Item] = [:]
        // The marker cut by a piece boundary, just after one, and in the last piece.
        for (name, offset) in [("cut", piece - 5), ("after", piece + 3), ("late", 2 * piece + 4096)] {
            var bytes = [UInt8](repeating: 0, count: offset) + key + [UInt8](repeating: 0, count: 1000)
            bytes[0] = 0x7f
            items["usr/bin/\(name)"] = .bytes(bytes)
        }
        items["usr/bin/plain"] = .bytes([0x7f] + [UInt8](repeating: 0x2d, count: 3 * piece))
        let root = try TemporaryDirectory(prefix: "rbscan-keys-root")
        defer { root.remove() }
        try FixtureWriter.write(items, into: root.path)
        let (observations, diagnostics) = try await run(PrivateKeyCheck.self, "{}", tree: try DirectoryTree(directory: root.path))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(observations.map(\.location.path).sorted() == ["usr/bin/after", "usr/bin/cut", "usr/bin/late"])
        #expect(observations.allSatisfy { $0.evidence.facts["kind"] == "EC private key" })
    }

    @Test("Through the engine, the read-ahead pass searches every binary for the key markers once; the check reads only the marked ones, with the same findings")
    func markersFromTheReadAheadPass() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-keys-engine")
        defer { directory.remove() }
        _ = try ImageFixtures.sh("openssl ecparam -name prime256v1 -genkey -noout -out ec.pem && openssl pkey -in ec.pem -outform DER -out ec.der",
                                 in: directory.path)
        let key = Array(try Data(contentsOf: URL(fileURLWithPath: directory.url("ec.pem"))))
        let der = Array(try Data(contentsOf: URL(fileURLWithPath: directory.url("ec.der"))))
        let piece = 1 << 20
        let root = try TemporaryDirectory(prefix: "rbscan-keys-engine-root")
        defer { root.remove() }
        try FixtureWriter.write([
            "usr/bin/cut": .bytes([0x7f] + [UInt8](repeating: 0, count: piece - 6) + key + [0]),
            "usr/bin/plain": .bytes([0x7f, 0] + [UInt8](repeating: 0x2d, count: 2 * piece)),
            "etc/ssl/private/web.key": .bytes(key),
            "opt/cam/identity": .bytes(der),
        ], into: root.path)
        let pack = """
            version: 1
            pack: t
            title: T
            rules:
              - id: RB-SEN-001
                title: keys
                category: SEN
                severity: high
                description: d
                remediation: r
                targets: [firmware]
                check: secrets.private-key
            """
        let (loaded, problems) = RuleLoader(registry: BuiltinChecks.registry).loadPack(text: pack, file: "t.yaml")
        #expect(problems.isEmpty, "\(problems)")
        let target = ScanTarget(spec: "root", kind: .firmware, tree: try DirectoryTree(directory: root.path), baseID: "T", baseURI: nil)
        let outcome = await Engine(rules: try #require(loaded).rules, jobs: 2).scan([target])
        #expect(outcome.diagnostics.isEmpty, "\(outcome.diagnostics)")
        #expect(outcome.findings.map(\.location.path).sorted() == ["etc/ssl/private/web.key", "opt/cam/identity", "usr/bin/cut"])
        let context = CheckContext(target: target, limits: ScanLimits(), ruleID: "T", sink: DiagnosticSink())
        let begin = Array("-----BEGIN ".utf8)
        #expect(context.holds(begin, in: try #require(target.tree?.index.entry(at: "usr/bin/cut"))) == true)
        #expect(context.holds(begin, in: try #require(target.tree?.index.entry(at: "usr/bin/plain"))) == false)
    }
}
