import COpenSSL
import RBCore
import RBCrypto

/// X.509 certificates read with OpenSSL from PEM or DER bytes, reduced to the facts the TLS rules
/// judge. No OpenSSL pointer leaves this file.
public struct CertificateFacts: Sendable {
    var subject: String
    var issuer: String
    var selfSigned: Bool
    /// RSA, EC, DSA, Ed25519, Ed448 or the OpenSSL short name.
    var keyType: String
    var keyBits: Int
    var signature: String
    /// Seconds from now to notBefore / notAfter (negative: in the past).
    var notBeforeIn: Int
    var notAfterIn: Int
    /// notAfter − notBefore, in days.
    var lifetimeDays: Int
    /// SHA-256 of the DER SubjectPublicKeyInfo (hex): the key's identity across files and devices.
    var publicKeySHA256: String
    /// notBefore / notAfter as ISO 8601 UTC.
    var notBefore: String
    var notAfter: String

    /// The leaf of a PEM text as the JSON report's certificate facts.
    public static func summary(pem: String) -> TLSFacts.CertificateSummary? {
        parse(Array(pem.utf8)).first.map {
            TLSFacts.CertificateSummary(subject: $0.subject, issuer: $0.issuer, selfSigned: $0.selfSigned, keyType: $0.keyType,
                                        keyBits: $0.keyBits, signatureAlgorithm: $0.signature, notBefore: $0.notBefore,
                                        notAfter: $0.notAfter, spkiSHA256: $0.publicKeySHA256)
        }
    }

    /// Every certificate in `bytes`: a PEM file (possibly a chain, leaf first) or one DER blob.
    static func parse(_ bytes: [UInt8]) -> [CertificateFacts] {
        var result: [CertificateFacts] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            if let bio = BIO_new_mem_buf(base, Int32(clamping: buffer.count)) {
                defer { BIO_free(bio) }
                while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) {
                    result.append(facts(x509))
                    X509_free(x509)
                    guard result.count < 32 else { break }
                }
                ERR_clear_error()
            }
            if result.isEmpty {
                var cursor: UnsafePointer<UInt8>? = base
                if let x509 = d2i_X509(nil, &cursor, buffer.count) {
                    result.append(facts(x509))
                    X509_free(x509)
                }
                ERR_clear_error()
            }
        }
        return result
    }

    private static func name(_ name: OpaquePointer?) -> String {
        guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return "?" }
        defer { CRYPTO_free(text, #fileID, #line) }
        return String(cString: text)
    }

    private static func facts(_ x509: OpaquePointer) -> CertificateFacts {
        var keyType = "unknown", bits = 0
        if let key = X509_get0_pubkey(x509) {
            bits = Int(EVP_PKEY_get_bits(key))
            let id = EVP_PKEY_get_base_id(key)
            switch id {
            case rb_pkey_rsa(): keyType = "RSA"
            case rb_pkey_ec(): keyType = "EC"
            case rb_pkey_dsa(): keyType = "DSA"
            case rb_pkey_ed25519(): keyType = "Ed25519"
            case rb_pkey_ed448(): keyType = "Ed448"
            default: keyType = OBJ_nid2sn(id).map { String(cString: $0) } ?? "nid \(id)"
            }
        }
        let signatureNID = X509_get_signature_nid(x509)
        let signature = OBJ_nid2ln(signatureNID).map { String(cString: $0) } ?? "nid \(signatureNID)"
        func secondsFromNow(_ time: UnsafePointer<ASN1_TIME>?) -> Int {
            var days: Int32 = 0, seconds: Int32 = 0
            guard let time, ASN1_TIME_diff(&days, &seconds, nil, time) == 1 else { return 0 }
            return Int(days) * 86_400 + Int(seconds)
        }
        let notBefore = secondsFromNow(X509_get0_notBefore(x509))
        let notAfter = secondsFromNow(X509_get0_notAfter(x509))
        func iso(_ time: UnsafePointer<ASN1_TIME>?) -> String {
            var parts = tm()
            guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return "" }
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
        }
        let selfSigned = X509_check_issued(x509, x509) == rb_x509_v_ok()
        return CertificateFacts(subject: name(X509_get_subject_name(x509)), issuer: name(X509_get_issuer_name(x509)),
                                selfSigned: selfSigned, keyType: keyType, keyBits: bits, signature: signature,
                                notBeforeIn: notBefore, notAfterIn: notAfter, lifetimeDays: (notAfter - notBefore) / 86_400,
                                publicKeySHA256: X509_get0_pubkey(x509).map(PrivateKeys.fingerprint) ?? "",
                                notBefore: iso(X509_get0_notBefore(x509)), notAfter: iso(X509_get0_notAfter(x509)))
    }
}

/// The certificate files of an image: PEM and DER files outside the CA bundles (a device's own
/// certificates, not the trust store it ships).
struct CertificateFiles: Sendable {
    let paths: [Glob]
    let exclude: [Glob]

    init(paths: [String]?, exclude: [String]?) throws(CheckOptionError) {
        self.paths = try PathPatterns.compile(paths ?? ["**/*.{pem,crt,cer,der,cert}"], key: "paths")
        self.exclude = try PathPatterns.compile(exclude ?? ["etc/ssl/certs/**", "usr/share/ca-certificates/**", "usr/share/**",
                                                            "etc/pki/ca-trust/**", "usr/lib/**", "proc/**", "sys/**"],
                                                key: "exclude")
    }

    /// (path, leaf certificate facts) for every file holding at least one certificate; on a
    /// `tls://` endpoint, the certificate it served, located at the endpoint URI.
    func leaves(in context: CheckContext) -> [(String, CertificateFacts)] {
        if context.kind == .endpoint {
            guard let pem = context.target.tls?.certificate else {
                // Anonymous-only servers send none; a failed fetch is listed in the facts' problems.
                if let problem = context.target.tls?.problems.first(where: { $0.hasPrefix("certificate:") }) {
                    context.report("the served certificate could not be read: \(problem)")
                }
                return []
            }
            return CertificateFacts.parse(Array(pem.utf8)).first.map { [(context.target.spec, $0)] } ?? []
        }
        return context.files(matching: paths, excluding: exclude).compactMap { file in
            guard file.size < 1 << 20, let content = context.read(file), let leaf = CertificateFacts.parse(content.bytes).first else { return nil }
            return (file.path, leaf)
        }
    }
}

/// Private keys OpenSSL can read without a passphrase (PEM: PKCS#1, SEC1, PKCS#8; DER PKCS#8
/// or traditional), reduced to their public key's SPKI SHA-256.
enum PrivateKeys {
    /// The SPKI SHA-256 of every unencrypted private key in `bytes` (a PEM file may hold several).
    static func fingerprints(_ bytes: [UInt8]) -> [String] {
        var result: [String] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            defer { ERR_clear_error() }
            if let bio = BIO_new_mem_buf(base, Int32(clamping: buffer.count)) {
                defer { BIO_free(bio) }
                // A passphrase callback that gives none: encrypted keys are skipped, not prompted for.
                while result.count < 16, let key = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil) {
                    result.append(fingerprint(key))
                    EVP_PKEY_free(key)
                }
            }
            if result.isEmpty, buffer.count < 1 << 16 {
                var cursor: UnsafePointer<UInt8>? = base
                if let key = d2i_AutoPrivateKey(nil, &cursor, buffer.count) {
                    result.append(fingerprint(key))
                    EVP_PKEY_free(key)
                }
            }
        }
        return result
    }

    static func fingerprint(_ key: OpaquePointer) -> String {
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(key, &der)
        guard length > 0, let der else { return "" }
        defer { CRYPTO_free(der, #fileID, #line) }
        return Digest.sha256Hex(Array(UnsafeBufferPointer(start: der, count: Int(length))))
    }
}
