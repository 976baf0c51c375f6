import RBCore

/// `endpoint.snmp`: an SNMP agent (an `snmp://` target, or UDP 161 of a swept host) answered
/// `GET sysDescr.0` with a default community (`public`, `private`).
public struct SNMPCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "endpoint.snmp"
    public static let summary = "Reports SNMP agents that answer the default communities."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    public init(options: Options) throws(CheckOptionError) {}

    public func run(in context: CheckContext) async throws -> [Observation] {
        let spec = context.target.spec
        guard let endpoint = context.target.endpoint, spec.hasPrefix("snmp://") || spec.hasPrefix("host://"),
              let facts = context.target.snmp ?? context.target.host?.snmp else { return [] }
        let uri = Endpoint(scheme: "snmp", host: endpoint.host, port: endpoint.scheme == "snmp" ? endpoint.port
                                                                      : context.target.host?.udp.first { $0.service == "snmp" }?.port ?? 161).uri
        return facts.communities.map { community in
            Observation(message: "\(uri) answers SNMP with the default community \"\(community)\"" + (facts.sysDescr.map { ": \($0.prefix(80))" } ?? ""),
                        location: Location(path: uri),
                        evidence: Evidence(key: "community:" + community, facts: ["sysDescr": facts.sysDescr ?? ""]))
        }
    }
}
