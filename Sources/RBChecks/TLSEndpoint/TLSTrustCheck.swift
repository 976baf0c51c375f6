import RBCore

/// `tls.certificate-trust`: with `--ca-file`, the chain a `tls://` endpoint serves must verify
/// against those anchors (OpenSSL, current time, TLS server purpose) and the leaf must name the
/// host scanned. Without a CA file there is nothing to judge: self-signed device certificates
/// are the norm, and RB-TLS-007/008 judge them on their own terms.
public struct TLSTrustCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "tls.certificate-trust"
    public static let summary = "With --ca-file: the served chain verifies against it and the leaf names the host."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    public init(options: Options) throws(CheckOptionError) {}

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let facts = context.tlsFacts(), let trust = facts.trust else { return [] }
        let uri = context.target.spec
        var observations: [Observation] = []
        if !trust.verified {
            let reason = trust.error ?? "unknown error"
            observations.append(Observation(message: "\(uri) serves a chain that does not verify against \(trust.caFile): \(reason)",
                                            location: Location(path: uri),
                                            evidence: Evidence(key: "untrusted:" + reason, facts: ["caFile": trust.caFile, "error": reason])))
        }
        if !trust.hostnameMatch, let host = Endpoint(parsing: uri)?.host {
            observations.append(Observation(message: "\(uri) serves a certificate that does not name \(host)",
                                            location: Location(path: uri),
                                            evidence: Evidence(key: "hostname:" + host, facts: ["host": host])))
        }
        return observations
    }
}
