import RBCore

/// `tls.certificate-validity`: certificate files in the image: expired or not yet valid (fail),
/// expiring within 30 days (low), a CA-issued leaf valid for more than 366 days (low);
/// self-signed lifetimes are facts only.
public struct CertificateValidityCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        var warnDays: Int?
        var maximumLifetimeDays: Int?
    }

    public static let id = "tls.certificate-validity"
    public static let summary = "Judges certificate validity windows (expired, not yet valid, expiring, too long)."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config, .endpoint]

    let files: CertificateFiles
    let warnDays: Int
    let maximumLifetime: Int

    public init(options: Options) throws(CheckOptionError) {
        files = try CertificateFiles(paths: options.paths, exclude: options.exclude)
        warnDays = options.warnDays ?? 30
        maximumLifetime = options.maximumLifetimeDays ?? 366
    }

    /// The server configs that name certificates are searched in the read-ahead pass.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        ServerConfigReferences.interests(in: context)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        for (path, cert) in files.leaves(in: context) {
            let facts = ["subject": cert.subject, "lifetimeDays": String(cert.lifetimeDays), "selfSigned": String(cert.selfSigned)]
            func add(_ severity: Severity?, _ what: String, _ key: String) {
                observations.append(Observation(severity: severity, message: "certificate \(cert.subject) \(what)",
                                                 location: Location(path: path),
                                                 evidence: Evidence(key: key + ":" + cert.subject, facts: facts)))
            }
            if cert.notAfterIn < 0 {
                add(nil, "expired \(-cert.notAfterIn / 86_400) days ago", "expired")
            } else if cert.notBeforeIn > 0 {
                add(nil, "is not valid for another \(cert.notBeforeIn / 86_400) days", "not-yet-valid")
            } else if cert.notAfterIn < warnDays * 86_400 {
                add(.low, "expires in \(cert.notAfterIn / 86_400) days", "expiring")
            }
            if !cert.selfSigned, cert.lifetimeDays > maximumLifetime {
                add(.low, "is valid for \(cert.lifetimeDays) days (a CA-issued leaf should be at most \(maximumLifetime))", "lifetime")
            }
        }
        return observations
    }
}
