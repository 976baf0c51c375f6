import RBCore
import RBNet

/// `rtsp://HOST:PORT`: which stream paths answer without credentials, and the auth schemes offered.
struct RTSPEndpointProbe: EndpointProbe {
    static let schemes = ["rtsp"]

    static func probe(_ request: ProbeRequest) async -> ProbeOutcome {
        let endpoint = request.endpoint
        switch await RTSPProbe(host: endpoint.host, port: endpoint.port, timeout: request.timeout,
                               paths: request.profile?.rtspPaths ?? RTSPFacts.commonPaths,
                               credentials: request.credentials, pacer: request.pacer).scan() {
        case .success(let facts): return .found(facts)
        case .failure(let failure): return .unreachable(failure.message)
        }
    }
}
