import RBCore

/// `endpoint.service`: a host target's port sweep found a service it must not offer (telnet,
/// FTP, TFTP …), on TCP or UDP: one finding per port, located at `SERVICE://HOST:PORT`, with the
/// banner as evidence. An FTP server that accepted `anonymous` gets `anonymousSeverity`.
public struct ServiceCheck: Check {
    public struct Options: Decodable, Sendable {
        var services: [String]
        /// Only ports whose banner starts with this (`+PONG`: a Redis that needs no password).
        var bannerPrefix: String?
        var message: String?
        /// The severity of a port whose FTP anonymous login was accepted (230).
        var anonymousSeverity: Severity?
    }

    public static let id = "endpoint.service"
    public static let summary = "Reports services of a swept host (telnet, FTP …) that must not be offered."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    let options: Options

    public init(options: Options) throws(CheckOptionError) {
        guard !options.services.isEmpty else { throw CheckOptionError(key: "services", "name at least one service") }
        self.options = options
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard context.target.spec.hasPrefix("host://"), let endpoint = context.target.endpoint else { return [] }
        guard let facts = context.target.host else {
            context.report("no port sweep for this host")
            return []
        }
        return (facts.ports + facts.udp).filter { port in
            options.services.contains(port.service) && options.bannerPrefix.map { (port.banner ?? "").hasPrefix($0) } ?? true
        }.map { port in
            let uri = Endpoint(scheme: port.service, host: endpoint.host, port: port.port).uri
            var values = ["service": port.service, "port": String(port.port), "uri": uri, "banner": port.banner ?? ""]
            var message = Template.render(options.message ?? "{service} is open on {uri}", values)
            var severity: Severity?
            if port.anonymousLogin == true, let raised = options.anonymousSeverity {
                severity = raised
                message += "; anonymous login is accepted (USER anonymous: 230)"
                values["anonymousLogin"] = "true"
            }
            return Observation(severity: severity, message: message, location: Location(path: uri),
                               evidence: Evidence(key: port.service + ":" + String(port.port), facts: values))
        }
    }
}
