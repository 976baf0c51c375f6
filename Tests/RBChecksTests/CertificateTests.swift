import Foundation
@testable import RBChecks
import RBCore
import RBTestSupport
import Testing

/// Certificates made by the real openssl, in PEM and DER, read back through the checks.
@Suite("Certificate files")
struct CertificateTests {
    func make(_ arguments: String) throws -> (pem: [UInt8], der: [UInt8]) {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("openssl req -x509 \(arguments) -nodes -keyout key.pem -subj /CN=test.device -out cert.pem 2>/dev/null && openssl x509 -in cert.pem -outform DER -out cert.der", in: dir.path)
        return (try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url("cert.pem")))),
                try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url("cert.der")))))
    }

    @Test func weakKeyAndSignatureInPEMAndDER() async throws {
        let (pem, der) = try make("-newkey rsa:1024 -sha1 -days 10")
        for bytes in [pem, der] {
            let facts = try #require(CertificateFacts.parse(bytes).first)
            #expect(facts.keyType == "RSA" && facts.keyBits == 1024)
            #expect(facts.signature == "sha1WithRSAEncryption")
            #expect(facts.selfSigned)
            #expect(facts.subject == "/CN=test.device")
        }
        let files: [String: MemoryTree.Item] = ["etc/web/server.pem": .init(content: pem), "etc/web/server.der": .init(content: der)]
        let (strength, _) = try await run(CertificateStrengthCheck.self, "{paths: ['**/*.{pem,der}']}", files: files)
        #expect(strength.count == 4)
        #expect(strength.filter { $0.severity == .low }.count == 2, "SHA-1 on a self-signed certificate is low")
        let (validity, _) = try await run(CertificateValidityCheck.self, "{paths: ['**/*.pem']}", files: files)
        #expect(validity.map(\.severity) == [.low], "expires in 10 days")
    }

    @Test func strongCertificatePasses() async throws {
        let (pem, _) = try make("-newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 3650")
        let facts = try #require(CertificateFacts.parse(pem).first)
        #expect(facts.keyType == "EC" && facts.keyBits == 256)
        let files: [String: MemoryTree.Item] = ["etc/web/server.pem": .init(content: pem)]
        #expect(try await run(CertificateStrengthCheck.self, "{}", files: files).observations.isEmpty)
        #expect(try await run(CertificateValidityCheck.self, "{}", files: files).observations.isEmpty)
    }

    @Test func notACertificate() {
        #expect(CertificateFacts.parse(Array("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".utf8)).isEmpty)
        #expect(CertificateFacts.parse([0x30, 0x82, 0x01]).isEmpty)
    }
}
