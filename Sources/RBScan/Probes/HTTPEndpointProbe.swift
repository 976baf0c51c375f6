import RBCore
import RBNet

/// `http://` and `https://HOST:PORT`: headers, methods, the profile's sensitive paths, ONVIF,
/// and (with `--allow-auth-tests`) default credentials.
struct HTTPEndpointProbe: EndpointProbe {
    static let schemes = ["http", "https"]

    static func probe(_ request: ProbeRequest) async -> ProbeOutcome {
        let endpoint = request.endpoint
        switch await HTTPProbe(host: endpoint.host, port: endpoint.port, tls: endpoint.scheme == "https", timeout: request.timeout,
                               sensitivePaths: request.profile?.sensitivePaths ?? [], credentials: request.credentials,
                               onvifPaths: request.onvifPaths, pacer: request.pacer).scan() {
        case .success(let facts): return .found(facts)
        case .failure(let failure): return .unreachable(failure.message)
        }
    }
}
