import Foundation
import RBCrypto
import RBTestSupport
import Testing

/// Keys, certificates and signatures made by the openssl command line in a temporary directory,
/// read and verified through RBCrypto: what the tool signs verifies, and a changed message, a
/// changed signature or another key does not.
@Suite("Keys, certificates, PKCS#12 and signatures against the openssl tool")
struct KeyTests {
    /// A directory with an RSA, an EC (P-256) and an Ed25519 key pair, a self-signed EC
    /// certificate, a message, and the message's signatures by each key.
    final class Fixture {
        let directory: TemporaryDirectory
        let message = Array("firmware image 1.2.3\n".utf8)

        init() throws {
            directory = try TemporaryDirectory(prefix: "rbscan-crypto")
            try Data(message).write(to: URL(fileURLWithPath: directory.url("msg")))
            _ = try ImageFixtures.sh("""
                openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
                openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
                openssl genpkey -algorithm ed25519 -out ed.pem
                for k in rsa ec ed; do openssl pkey -in $k.pem -pubout -out $k.pub; done
                openssl dgst -sha256 -sign rsa.pem -out rsa.sig msg
                openssl dgst -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out rsa-pss.sig msg
                openssl dgst -sha384 -sign ec.pem -out ec.sig msg
                openssl dgst -sha256 -sign ec.pem -out ec-sha256.sig msg
                openssl pkeyutl -sign -rawin -inkey ed.pem -in msg -out ed.sig
                openssl req -x509 -new -key ec.pem -subj /O=rbscan/CN=camera.local -days 30 -out cert.pem 2>/dev/null
                openssl x509 -in cert.pem -outform DER -out cert.der
                openssl pkey -in ec.pub -pubin -outform DER -out ec.spki
                """, in: directory.path)
            // The SPKI SHA-256s as the openssl tool computes them.
            for name in ["rsa", "ec", "ed"] {
                identities[name] = try ImageFixtures.sh("openssl pkey -in \(name).pub -pubin -outform DER | openssl dgst -sha256 -r | cut -c1-64",
                                                        in: directory.path).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        private var identities: [String: String] = [:]

        /// The SPKI SHA-256 of key `name` by the openssl tool.
        func spki(_ name: String) -> String { identities[name] ?? "" }

        deinit { directory.remove() }

        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: directory.url(name)))) }
        func sh(_ command: String) throws -> String {
            try ImageFixtures.sh(command, in: directory.path).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func publicKey(_ name: String) throws -> Key { try #require(Key.publicKey(pem: try bytes(name + ".pub"))) }
    }

    @Test("Signatures made by openssl dgst/pkeyutl verify over the message; a changed message or byte does not")
    func signaturesVerify() throws {
        let fixture = try Fixture()
        let tampered = fixture.message.dropLast() + [UInt8(ascii: "!")]
        let cases: [(key: String, signature: String, digest: Digest.Algorithm?, padding: Key.Padding?)] = [
            ("rsa", "rsa.sig", .sha256, .pkcs1), ("rsa", "rsa-pss.sig", .sha256, .pss),
            ("ec", "ec.sig", .sha384, nil), ("ed", "ed.sig", nil, nil),
        ]
        for (name, file, digest, padding) in cases {
            let key = try fixture.publicKey(name)
            let signature = try fixture.bytes(file)
            #expect(key.verifies(signature, message: fixture.message, digest: digest, padding: padding), "\(file)")
            #expect(!key.verifies(signature, message: Array(tampered), digest: digest, padding: padding), "\(file) over a changed message")
            var flipped = signature
            flipped[flipped.count / 2] ^= 0x01
            #expect(!key.verifies(flipped, message: fixture.message, digest: digest, padding: padding), "\(file) changed")
        }
        // The wrong digest, the wrong padding, the wrong key.
        let rsa = try fixture.publicKey("rsa"), ec = try fixture.publicKey("ec")
        #expect(!ec.verifies(try fixture.bytes("ec.sig"), message: fixture.message, digest: .sha256))
        #expect(!rsa.verifies(try fixture.bytes("rsa-pss.sig"), message: fixture.message, digest: .sha256, padding: .pkcs1))
        #expect(!rsa.verifies(try fixture.bytes("ec.sig"), message: fixture.message, digest: .sha384))
        #expect(!(try fixture.publicKey("ed")).verifies(try fixture.bytes("ed.sig"), message: Array(tampered), digest: nil))
    }

    @Test("Signatures over a digest computed beforehand (an image hashed as a stream)")
    func digestSignatures() throws {
        let fixture = try Fixture()
        let digest = Digest.sha256(fixture.message)
        let rsa = try fixture.publicKey("rsa"), ec = try fixture.publicKey("ec")
        #expect(rsa.verifies(try fixture.bytes("rsa.sig"), digest: digest, algorithm: .sha256, padding: .pkcs1))
        #expect(rsa.verifies(try fixture.bytes("rsa-pss.sig"), digest: digest, algorithm: .sha256, padding: .pss))
        #expect(ec.verifies(try fixture.bytes("ec-sha256.sig"), digest: digest, algorithm: .sha256))
        let other = Digest.sha256(Array("another image".utf8))
        #expect(!rsa.verifies(try fixture.bytes("rsa.sig"), digest: other, algorithm: .sha256, padding: .pkcs1))
        #expect(!ec.verifies(try fixture.bytes("ec-sha256.sig"), digest: other, algorithm: .sha256))
    }

    @Test("Key facts: kind, size and the SPKI SHA-256 the openssl tool computes")
    func keyFacts() throws {
        let fixture = try Fixture()
        for (name, kind, bits) in [("rsa", Key.Kind.rsa, 2048), ("ec", .ec, 256), ("ed", .ed25519, 256)] {
            let key = try fixture.publicKey(name)
            #expect(key.kind == kind && key.bits == bits, "\(name): \(key.bits) bits")
            #expect(key.spkiSHA256 == fixture.spki(name), "\(name)")
        }
        #expect(Key.Kind.ed25519.name == "Ed25519" && Key.Kind.other("X448").name == "X448")
        // A private key has its public half's identity; the two compare equal.
        let privateKey = try #require(Key.privateKeys(in: try fixture.bytes("rsa.pem")).first)
        #expect(privateKey.spkiSHA256 == fixture.spki("rsa"))
        #expect(privateKey.hasSamePublicKey(as: try fixture.publicKey("rsa")))
        #expect(!privateKey.hasSamePublicKey(as: try fixture.publicKey("ec")))
    }

    @Test("Private keys: several PEM keys in one text, traditional and DER forms; encrypted ones and garbage give none")
    func privateKeys() throws {
        let fixture = try Fixture()
        _ = try fixture.sh("""
            openssl pkey -in rsa.pem -traditional -out rsa1.pem 2>/dev/null || openssl rsa -in rsa.pem -traditional -out rsa1.pem 2>/dev/null
            openssl pkey -in ec.pem -outform DER -out ec.der
            openssl pkcs8 -topk8 -in ec.pem -v2 aes-256-cbc -passout pass:camera123 -out ec-enc.pem
            """)
        let both = try fixture.bytes("rsa.pem") + Array("\n# between\n".utf8) + (try fixture.bytes("ec.pem"))
        #expect(Key.privateKeys(in: both).map(\.spkiSHA256) == [fixture.spki("rsa"), fixture.spki("ec")])
        #expect(Key.privateKeys(in: both, limit: 1).count == 1)
        #expect(Key.privateKeys(in: try fixture.bytes("rsa1.pem")).first?.spkiSHA256 == fixture.spki("rsa"))
        #expect(Key.privateKeys(in: try fixture.bytes("ec.der")).first?.spkiSHA256 == fixture.spki("ec"))
        #expect(Key.privateKeys(in: try fixture.bytes("ec-enc.pem")).isEmpty)
        #expect(Key.privateKeys(in: try fixture.bytes("ec.pub")).isEmpty)
        #expect(Key.privateKeys(in: Array("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8)).isEmpty)
        #expect(Key.privateKeys(in: []).isEmpty)
    }

    @Test("A public key from PEM: a PUBLIC KEY block, else a certificate's key; nothing from other text")
    func publicKeyFromPEM() throws {
        let fixture = try Fixture()
        let fromCertificate = try #require(Key.publicKey(pem: try fixture.bytes("cert.pem")))
        #expect(fromCertificate.spkiSHA256 == fixture.spki("ec"))
        // A certificate before the key: the key block wins, wherever it is.
        let mixed = try fixture.bytes("cert.pem") + (try fixture.bytes("rsa.pub"))
        #expect(Key.publicKey(pem: mixed)?.spkiSHA256 == fixture.spki("rsa"))
        #expect(Key.publicKey(pem: try fixture.bytes("rsa.pem")) == nil, "a private key is not a public key text")
        #expect(Key.publicKey(pem: Array("not a key".utf8)) == nil)
    }

    @Test("U-Boot's raw key numbers: the RSA modulus/exponent and the EC point give the same keys")
    func rawKeyNumbers() throws {
        let fixture = try Fixture()
        let modulus = try #require(Hex.decode(String(try fixture.sh("openssl rsa -pubin -in rsa.pub -noout -modulus").dropFirst("Modulus=".count))))
        let rsa = try #require(Key(rsaModulus: modulus, exponent: [0x01, 0x00, 0x01]))
        #expect(rsa.spkiSHA256 == fixture.spki("rsa"))
        #expect(rsa.verifies(try fixture.bytes("rsa.sig"), message: fixture.message, digest: .sha256, padding: .pkcs1))
        // A P-256 SubjectPublicKeyInfo ends with the 65-byte uncompressed point.
        let point = Array(try fixture.bytes("ec.spki").suffix(65))
        #expect(point.first == 0x04)
        let ec = try #require(Key(ecCurve: "prime256v1", point: point))
        #expect(ec.spkiSHA256 == fixture.spki("ec"))
        #expect(Key(ecCurve: "prime256v1", point: Array(point.dropLast())) == nil)
        #expect(Key(ecCurve: "no-such-curve", point: point) == nil)
    }

    @Test("ECDSA r||s to DER: minimal integers, a sign byte where the top bit is set; odd lengths refused")
    func ecdsaDER() {
        let r = [UInt8](repeating: 0, count: 31) + [0x01], s = [UInt8](repeating: 0, count: 31) + [0x80]
        #expect(ECDSA.derSignature(raw: r + s) == [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80])
        #expect(ECDSA.derSignature(raw: r + s.dropLast()) == nil)
        #expect(ECDSA.derSignature(raw: []) == nil)
    }

    @Test("Certificates: PEM chain and DER read with the fields the rules judge")
    func certificates() throws {
        let fixture = try Fixture()
        let pem = try fixture.bytes("cert.pem")
        let certificate = try #require(Certificate.all(in: pem).first)
        #expect(certificate.subject == "/O=rbscan/CN=camera.local")
        #expect(certificate.issuer == certificate.subject && certificate.isSelfSigned)
        #expect(certificate.signatureAlgorithm == "ecdsa-with-SHA256")
        #expect(certificate.publicKey?.spkiSHA256 == fixture.spki("ec"))
        #expect((-120...0).contains(certificate.notBefore.secondsFromNow))
        #expect((30 * 86_400 - 120...30 * 86_400).contains(certificate.notAfter.secondsFromNow))
        let enddate = try fixture.sh("date -u -d \"$(openssl x509 -in cert.pem -noout -enddate | cut -d= -f2)\" +%Y-%m-%dT%H:%M:%SZ")
        #expect(certificate.notAfter.iso8601 == enddate)
        #expect(Certificate.all(in: pem + pem + pem).count == 3)
        #expect(Certificate.all(in: pem + pem + pem, limit: 2).count == 2)
        #expect(Certificate.all(in: try fixture.bytes("cert.der")).first?.subject == certificate.subject)
        #expect(Certificate.all(in: Array("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".utf8)).isEmpty)
        #expect(Certificate.all(in: [0x30, 0x82, 0x01]).isEmpty)
    }

    @Test("PKCS#12: a key without a password, certificates only, password-protected, not a bundle")
    func pkcs12() throws {
        let fixture = try Fixture()
        _ = try fixture.sh("""
            openssl pkcs12 -export -inkey ec.pem -in cert.pem -passout pass: -out open.p12 2>/dev/null
            openssl pkcs12 -export -inkey ec.pem -in cert.pem -passout pass:hik12345 -out locked.p12 2>/dev/null
            openssl pkcs12 -export -nokeys -in cert.pem -passout pass: -out certs.p12 2>/dev/null
            """)
        guard case .privateKey(let key) = PKCS12.open(try fixture.bytes("open.p12")) else {
            Issue.record("open.p12 gave no key")
            return
        }
        #expect(key.spkiSHA256 == fixture.spki("ec"))
        guard case .passwordProtected = PKCS12.open(try fixture.bytes("locked.p12")) else { Issue.record("locked.p12"); return }
        guard case .certificatesOnly = PKCS12.open(try fixture.bytes("certs.p12")) else { Issue.record("certs.p12"); return }
        #expect(PKCS12.open(try fixture.bytes("cert.der")) == nil)
    }

    @Test("Detached CMS: verifies over bytes and over a file with the signer's key; not another key, not changed content")
    func cms() throws {
        let fixture = try Fixture()
        _ = try fixture.sh("""
            openssl cms -sign -binary -in msg -signer cert.pem -inkey ec.pem -outform DER -out msg.p7s
            openssl cms -sign -binary -in msg -signer cert.pem -inkey ec.pem -outform PEM -out msg.p7s.pem
            """)
        let signer = try fixture.publicKey("ec"), other = try fixture.publicKey("rsa")
        for name in ["msg.p7s", "msg.p7s.pem"] {
            let signature = try fixture.bytes(name)
            #expect(CMS.verifiesDetached(signature, content: .bytes(fixture.message), keys: [other, signer]), "\(name)")
            #expect(CMS.verifiesDetached(signature, content: .file(fixture.directory.url("msg")), keys: [signer]), "\(name) over the file")
            #expect(!CMS.verifiesDetached(signature, content: .bytes(fixture.message), keys: [other]), "\(name) with another key")
            #expect(!CMS.verifiesDetached(signature, content: .bytes(fixture.message + [0]), keys: [signer]), "\(name) over changed content")
        }
        #expect(!CMS.verifiesDetached(try fixture.bytes("msg.p7s"), content: .file(fixture.directory.url("missing")), keys: [signer]))
        #expect(!CMS.verifiesDetached(try fixture.bytes("rsa.sig"), content: .bytes(fixture.message), keys: [signer]))
    }
}
