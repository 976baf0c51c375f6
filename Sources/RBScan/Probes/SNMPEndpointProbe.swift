import RBCore
import RBNet

/// `snmp://HOST:PORT`: which default communities answer. UDP: silence is the pass condition
/// (agents drop unknown communities), never an unreachable target.
struct SNMPEndpointProbe: EndpointProbe {
    static let schemes = ["snmp"]

    static func probe(_ request: ProbeRequest) async -> ProbeOutcome {
        .found(await SNMPProbe(host: request.endpoint.host, port: request.endpoint.port, timeout: min(request.timeout, 1.5)).scan())
    }
}
