import RBCore
import RBCrypto

/// X.509 certificates read by RBCrypto from PEM or DER bytes, reduced to the facts the TLS rules
/// judge.
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
    /// A CA certificate (a trust store's root or intermediate).
    var isCA = false

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
        Certificate.all(in: bytes).map(facts)
    }

    private static func facts(_ certificate: Certificate) -> CertificateFacts {
        let key = certificate.publicKey
        let notBefore = certificate.notBefore, notAfter = certificate.notAfter
        return CertificateFacts(subject: certificate.subject, issuer: certificate.issuer, selfSigned: certificate.isSelfSigned,
                                keyType: key?.kind.name ?? "unknown", keyBits: key?.bits ?? 0, signature: certificate.signatureAlgorithm,
                                notBeforeIn: notBefore.secondsFromNow, notAfterIn: notAfter.secondsFromNow,
                                lifetimeDays: (notAfter.secondsFromNow - notBefore.secondsFromNow) / 86_400,
                                publicKeySHA256: key?.spkiSHA256 ?? "", notBefore: notBefore.iso8601, notAfter: notAfter.iso8601,
                                isCA: certificate.isCA)
    }
}

/// The certificate files of an image: a device's own certificates, not the trust store it ships.
/// Trust stores are told by content: a file of several certificates that are all CAs is a bundle
/// (`ca-certificates.crt`), and a single CA certificate where trust stores live is a root or an
/// intermediate (Debian's `/usr/share/ca-certificates/**`, `/etc/ssl/certs/*.pem`). A device's own
/// server certificate under `/etc/ssl/certs` (not a CA) is judged like any other, and every
/// certificate a web or TLS server config names (`ServerConfigReferences`) is judged whatever it is.
struct CertificateFiles: Sendable {
    let paths: [Glob]
    let exclude: [Glob]

    init(paths: [String]?, exclude: [String]?) throws(CheckOptionError) {
        self.paths = try PathPatterns.compile(paths ?? ["**/*.{pem,crt,cer,der,cert}"], key: "paths")
        self.exclude = try PathPatterns.compile(exclude ?? ["proc/**", "sys/**"], key: "exclude")
    }

    /// Where systems keep CA certificates they trust (Debian's ca-certificates, OpenSSL's
    /// directory, the Fedora/RHEL trust store, language runtimes' copies).
    let trustStores: [Glob] = (try? PathPatterns.compile(["etc/ssl/certs/**", "usr/share/ca-certificates/**", "etc/pki/**", "usr/share/**",
                                                          "usr/lib/**", "usr/local/share/ca-certificates/**", "etc/ca-certificates/**"],
                                                         key: "trustStores")) ?? []

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
        let referenced = ServerConfigReferences.certificates(in: context)
        var seen = Set<String>()
        var result: [(String, CertificateFacts)] = []
        var candidates = context.files(matching: paths, excluding: exclude).filter { $0.type == .file }
        // A certificate a server config names is judged wherever it is and whatever its name.
        for path in referenced.sorted() where !candidates.contains(where: { $0.path == path }) {
            if let entry = context.tree?.resolve(path), entry.type == .file { candidates.append(entry) }
        }
        for file in candidates where seen.insert(file.path).inserted {
            guard file.size < 4 << 20, let content = context.read(file) else { continue }
            let certificates = CertificateFacts.parse(content.bytes)
            guard let leaf = certificates.first else { continue }
            // A bundle (several certificates, all CAs) is a trust store wherever it is; a single CA
            // certificate is one where trust stores live. A self-signed device certificate is
            // often CA:TRUE too (`openssl req -x509` makes it so): elsewhere it is judged.
            if !referenced.contains(file.path), certificates.allSatisfy(\.isCA),
               certificates.count > 1 || trustStores.contains(where: { $0.matches(file.path) }) { continue }
            result.append((file.path, leaf))
        }
        return result
    }
}
