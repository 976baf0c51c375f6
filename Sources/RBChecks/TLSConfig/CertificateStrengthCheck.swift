import RBCore

/// `tls.certificate-strength`: certificate files in the image (leaf of each file): RSA below
/// 2048 bits, EC below 256 bits and DSA keys fail (high); MD5 or SHA-1 signatures fail (medium,
/// low on a self-signed certificate).
public struct CertificateStrengthCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        var minimumRSABits: Int?
        var minimumECBits: Int?
    }

    public static let id = "tls.certificate-strength"
    public static let summary = "Judges certificate key type and size and signature algorithm (OpenSSL)."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config, .endpoint]

    let files: CertificateFiles
    let minimumRSA: Int
    let minimumEC: Int

    public init(options: Options) throws(CheckOptionError) {
        files = try CertificateFiles(paths: options.paths, exclude: options.exclude)
        minimumRSA = options.minimumRSABits ?? 2048
        minimumEC = options.minimumECBits ?? 256
    }

    /// The server configs that name certificates are searched in the read-ahead pass.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        ServerConfigReferences.interests(in: context)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        for (path, cert) in files.leaves(in: context) {
            let facts = ["subject": cert.subject, "key": "\(cert.keyType)-\(cert.keyBits)", "signature": cert.signature]
            var weakKey: String?
            switch cert.keyType {
            case "RSA" where cert.keyBits < minimumRSA: weakKey = "RSA-\(cert.keyBits) (at least \(minimumRSA))"
            case "EC" where cert.keyBits < minimumEC: weakKey = "EC-\(cert.keyBits) (at least \(minimumEC))"
            case "DSA": weakKey = "DSA-\(cert.keyBits)"
            default: break
            }
            if let weakKey {
                observations.append(Observation(
                    message: "certificate \(cert.subject) has a weak key: \(weakKey)",
                    location: Location(path: path),
                    evidence: Evidence(key: "key:" + cert.subject + ":" + cert.keyType + String(cert.keyBits), facts: facts)))
            }
            let lower = cert.signature.lowercased()
            if lower.contains("md5") || lower.contains("sha1") || lower.contains("with-sha1") || lower.hasSuffix("sha1") {
                observations.append(Observation(
                    severity: cert.selfSigned ? .low : .medium,
                    message: "certificate \(cert.subject) is signed with \(cert.signature)" + (cert.selfSigned ? " (self-signed)" : ""),
                    location: Location(path: path),
                    evidence: Evidence(key: "signature:" + cert.subject + ":" + cert.signature, facts: facts)))
            }
        }
        if context.kind != .endpoint { observations += generatedKeys(in: context) }
        return observations
    }

    /// Keys the image will generate at first boot: OpenWrt uhttpd's `config cert` section is what
    /// px5g is asked for (`bits`, `key_type rsa|ec`, `ec_curve`), so `option bits '1024'` ships a
    /// weak key to every device as surely as a weak certificate file.
    func generatedKeys(in context: CheckContext) -> [Observation] {
        guard let globs = try? PathPatterns.compile([context.kind == .config ? "uhttpd" : "etc/config/uhttpd"], key: "paths"),
              let file = context.files(matching: globs).first, let text = context.readText(file) else { return [] }
        var observations: [Observation] = []
        for section in UCIFile(text).sections(ofType: "cert") {
            let type = section.option("key_type")?.value.lowercased() ?? "rsa"
            var weak: (String, Int)?
            if type == "rsa", let bits = section.option("bits"), let value = Int(bits.value), value < minimumRSA {
                weak = ("RSA-\(value) (at least \(minimumRSA))", bits.line)
            } else if type == "ec", let curve = section.option("ec_curve"),
                      let size = Int(curve.value.filter(\.isNumber).suffix(3)), size < minimumEC {
                weak = ("EC \(curve.value) (at least \(minimumEC) bits)", curve.line)
            }
            guard let (what, line) = weak else { continue }
            observations.append(Observation(
                message: "uhttpd generates its HTTPS key at first boot with px5g as \(what) (etc/config/uhttpd, config cert\(section.name.map { " '\($0)'" } ?? ""))",
                location: Location(path: file.path, line: line),
                evidence: Evidence(key: "px5g:" + (section.name ?? "cert") + ":" + what, facts: ["keyType": type, "generator": "px5g"])))
        }
        return observations
    }
}
