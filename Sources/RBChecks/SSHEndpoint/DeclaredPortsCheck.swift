import RBCore

/// `endpoint.declared-ports`: a swept host's open TCP ports against the device profile: a port the
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
        for port in facts.ports {
            let uri = Endpoint(scheme: port.service == "unknown" ? "tcp" : port.service, host: endpoint.host, port: port.port).uri
            let evidence = ["port": String(port.port), "service": port.service, "banner": port.banner ?? "", "profile": profile.id]
            if let declared = profile.interface(tcp: port.port) {
                if declared.enabledByDefault == false {
                    observations.append(Observation(
                        message: "\(uri) is open, but profile \(profile.id) declares \(declared.service) on \(port.port) as off by default",
                        location: Location(path: uri), evidence: Evidence(key: "off-by-default:\(port.port)", facts: evidence)))
                }
            } else {
                observations.append(Observation(
                    message: "\(uri) (\(port.service)) is open but not declared in profile \(profile.id)",
                    location: Location(path: uri), evidence: Evidence(key: "undeclared:\(port.port)", facts: evidence)))
            }
        }
        return observations
    }
}
