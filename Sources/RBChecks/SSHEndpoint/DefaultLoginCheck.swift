import RBCore

/// `endpoint.default-login`: with `--allow-auth-tests`, a default pair of the device profile was
/// accepted by an SSH login (`ssh://` targets) or by a telnet or FTP login of a swept host.
/// The HTTP, ONVIF and RTSP surfaces are judged by `http.response` / `rtsp.response`.
public struct DefaultLoginCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "endpoint.default-login"
    public static let summary = "Reports SSH, telnet and FTP logins that accepted a default credential pair (--allow-auth-tests)."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    public init(options: Options) throws(CheckOptionError) {}

    public func run(in context: CheckContext) async throws -> [Observation] {
        let target = context.target
        guard let endpoint = target.endpoint else { return [] }
        var accepted: [(uri: String, user: String, attempts: Int)] = []
        if target.spec.hasPrefix("ssh://"), let login = target.ssh?.defaultLogin, let user = login.accepted {
            accepted.append((target.spec, user, login.attempts))
        }
        if target.spec.hasPrefix("host://"), let host = target.host {
            for port in host.ports {
                if let login = port.defaultLogin, let user = login.accepted {
                    accepted.append((Endpoint(scheme: port.service, host: endpoint.host, port: port.port).uri, user, login.attempts))
                }
            }
        }
        return accepted.map { item in
            Observation(message: "\(item.uri) accepts the default credentials of user \(item.user) (--allow-auth-tests)",
                        location: Location(path: item.uri),
                        evidence: Evidence(key: "default-login:" + item.user, facts: ["user": item.user, "attempts": String(item.attempts)]))
        }
    }
}
