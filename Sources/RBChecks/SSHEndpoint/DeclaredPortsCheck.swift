import RBCore

/// `endpoint.declared-ports`: a swept host's open TCP ports and answering UDP services against the device profile: a port the
/// profile does not declare, or declares as off by default, fails (one finding per port, at
/// `SERVICE://HOST:PORT`, with the service guess and banner). Without a profile the result is
/// review: nothing says what should be open.
public struct DeclaredPortsCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "endpoint.declared-ports"
    public static let summary = "Compares a swept host's open ports with the device profile's declared interfaces."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    public init(options: Options) throws(CheckOptionError) {}

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard context.target.spec.hasPrefix("host://"), let endpoint = context.target.endpoint else { return [] }
        guard let facts = context.target.host else {
            context.report("no port sweep for this host")
            return []
        }
        guard let profile = context.target.profile else {
            return [Observation(status: .review, message: "no device profile: the open ports cannot be compared with declared interfaces (--profile)",
                                location: Location(path: context.target.spec), evidence: Evidence(key: "no-profile"))]
        }
        var observations: [Observation] = []
        // TCP ports that accepted, and UDP ports whose probe was answered (a silent UDP port is
        // not counted open).
        for (proto, ports) in [("tcp", facts.ports), ("udp", facts.udp)] {
            for port in ports {
                let uri = Endpoint(scheme: port.service == "unknown" ? proto : port.service, host: endpoint.host, port: port.port).uri
                let label = proto == "tcp" ? String(port.port) : "\(port.port)/udp"
                let evidence = ["port": label, "service": port.service, "banner": port.banner ?? "", "profile": profile.id]
                if let declared = profile.interface(port.port, proto: proto) {
                    if declared.enabledByDefault == false {
                        observations.append(Observation(
                            message: "\(uri) is open, but profile \(profile.id) declares \(declared.service) on \(label) as off by default",
                            location: Location(path: uri), evidence: Evidence(key: "off-by-default:\(label)", facts: evidence)))
                    }
                } else {
                    observations.append(Observation(
                        message: "\(uri) (\(port.service)) is open but not declared in profile \(profile.id)",
                        location: Location(path: uri), evidence: Evidence(key: "undeclared:\(label)", facts: evidence)))
                }
            }
        }
        return observations
    }
}
