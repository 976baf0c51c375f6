import RBCore

/// `rtsp.response`: judges the RTSP probe's DESCRIBE answers (sent without credentials).
/// - `unauthenticated-stream`: a path answered 200 with an SDP describing media fails
///   (RB-AUTH-003); when every path answered 404/454 the result is review (no stream found to judge);
/// - `basic-auth`: a `Basic` challenge fails, a Digest one without SHA-256 is low (RB-AUTH-004).
public struct RTSPResponseCheck: Check {
    public enum Test: String, Decodable, Sendable {
        case unauthenticatedStream = "unauthenticated-stream", basicAuth = "basic-auth", defaultCredentials = "default-credentials"
    }

    public struct Options: Decodable, Sendable {
        var test: Test
    }

    public static let id = "rtsp.response"
    public static let summary = "Judges an RTSP endpoint's answers to DESCRIBE without credentials."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    let options: Options

    public init(options: Options) throws(CheckOptionError) { self.options = options }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let spec = context.target.spec
        guard spec.hasPrefix("rtsp://") else { return [] }
        guard let facts = context.target.rtsp else {
            context.report("no RTSP facts for this endpoint")
            return []
        }
        var observations: [Observation] = []
        switch options.test {
        case .unauthenticatedStream:
            for path in facts.paths where path.media {
                observations.append(Observation(message: "\(spec) streams \(path.path) without authentication (DESCRIBE 200 with media)",
                                                location: Location(path: spec + path.path),
                                                evidence: Evidence(key: "stream:" + path.path, facts: ["status": String(path.status)])))
            }
            if !facts.paths.isEmpty, facts.paths.allSatisfy({ $0.status == 404 || $0.status == 454 }) {
                observations.append(Observation(status: .review,
                                                message: "\(spec): no stream path answered (404/454 on \(facts.paths.count) paths); add the device's paths to its profile",
                                                location: Location(path: spec), evidence: Evidence(key: "no-stream-found")))
            }
        case .defaultCredentials:
            if let login = facts.defaultLogin, let user = login.accepted {
                observations.append(Observation(message: "\(spec) accepts the default credentials of user \(user) (--allow-auth-tests)",
                                                location: Location(path: spec), evidence: Evidence(key: "default-login:" + user)))
            }
        case .basicAuth:
            var seen = Set<String>()
            for path in facts.paths where path.status == 401 {
                for challenge in path.challenges where seen.insert(challenge).inserted {
                    guard let weakness = AuthChallenge.weakness(challenge) else { continue }
                    let (message, key) = weakness == .basic
                        ? ("sends a Basic authentication challenge over cleartext RTSP", "rtsp-basic")
                        : ("offers RTSP Digest with MD5 only", "rtsp-digest-md5")
                    observations.append(Observation(severity: weakness.severity, message: "\(spec) \(message): \(challenge)",
                                                    location: Location(path: spec), evidence: Evidence(key: key)))
                }
            }
        }
        return observations
    }
}
