import RBCore
import RBNet

/// `ssh://HOST:PORT`: the server's banner, algorithms and host keys; with `--allow-auth-tests`,
/// the profile's default passwords.
struct SSHEndpointProbe: EndpointProbe {
    static let schemes = ["ssh"]

    static func probe(_ request: ProbeRequest) async -> ProbeOutcome {
        let endpoint = request.endpoint
        switch await SSHProbe(host: endpoint.host, port: endpoint.port, timeout: request.timeout).scan() {
        case .success(var facts):
            if !request.credentials.isEmpty {
                facts.defaultLogin = await ServiceLogin(surface: .ssh, host: endpoint.host, port: endpoint.port, timeout: request.timeout,
                                                        pacer: request.pacer).run(request.credentials)
            }
            return .found(facts)
        case .failure(let failure):
            return .unreachable(failure.message)
        }
    }
}
