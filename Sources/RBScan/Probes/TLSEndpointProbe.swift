import RBChecks
import RBCore
import RBNet

/// `tls://HOST:PORT`: protocol versions, cipher suites, the certificate chain (the raw-ClientHello
/// scanner).
struct TLSEndpointProbe: EndpointProbe {
    static let schemes = ["tls"]

    static func probe(_ request: ProbeRequest) async -> ProbeOutcome {
        var facts = await TLSScanner(host: request.endpoint.host, port: request.endpoint.port, timeout: request.timeout,
                                     caFile: request.caFile).scan()
        guard facts.reachable else { return .unreachable(facts.problems.first ?? "no TLS handshake completed") }
        facts.certificateFacts = facts.certificate.flatMap(CertificateFacts.summary(pem:))
        return .found(facts)
    }
}
