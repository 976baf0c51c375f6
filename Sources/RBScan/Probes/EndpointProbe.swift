import RBCore
import RBNet

/// One endpoint protocol rbscan probes before the rules run: the URI schemes it answers for and
/// how it turns an endpoint into facts for the checks.
///
/// Every probe is one file and one line in `EndpointProbes.all`; the target resolver (which
/// schemes are endpoints), the session's probe stage and the error messages come from that list.
/// A probe's facts are a `TargetFact` type of its own, stored in `ScanTarget.facts`.
public protocol EndpointProbe: Sendable {
    /// The URI schemes it probes (`tls`; `http` and `https`).
    static var schemes: [String] { get }
    /// Probes one endpoint. `.unreachable` when it cannot be reached or does not speak the
    /// protocol at all: a target error, and no rule judges it ("nothing negotiated" from a
    /// closed port is not a finding).
    static func probe(_ request: ProbeRequest) async -> ProbeOutcome
}

/// What a probe is given for one endpoint.
public struct ProbeRequest: Sendable {
    public var endpoint: Endpoint
    /// Seconds per network operation (`--timeout`).
    public var timeout: Double
    /// `--ca-file`: the trust store certificate chains are verified against.
    public var caFile: String?
    /// The device profile in force (paths to ask, stream names).
    public var profile: DeviceProfile?
    /// Default credentials to try (`--allow-auth-tests`), else empty: a probe never logs in
    /// unless asked to.
    public var credentials: [DeviceProfile.Credential]
    /// The run's login pacer: attempts spaced per host across all its surfaces.
    public var pacer: LoginPacer
    /// The ONVIF device-service paths to ask (WS-Discovery's for this host and port, then the profile's).
    public var onvifPaths: [String]
}

/// What a probe found: the facts for the rules, or why the endpoint could not be probed.
public enum ProbeOutcome: Sendable {
    case found(TargetFacts)
    case unreachable(String)

    /// The outcome of a probe that establishes one fact.
    public static func found<Fact: TargetFact>(_ fact: Fact) -> ProbeOutcome {
        var facts = TargetFacts()
        facts[Fact.self] = fact
        return .found(facts)
    }
}

/// Every endpoint probe of this build.
public enum EndpointProbes {
    public static let all: [any EndpointProbe.Type] = [
        TLSEndpointProbe.self,
        SSHEndpointProbe.self,
        HTTPEndpointProbe.self,
        RTSPEndpointProbe.self,
        SNMPEndpointProbe.self,
    ]

    /// The probe for `scheme`, if this build has one.
    public static func probe(for scheme: String) -> (any EndpointProbe.Type)? {
        all.first { $0.schemes.contains(scheme) }
    }

    /// Every scheme a probe answers for, in registry order.
    public static var schemes: [String] {
        // A loop, not `flatMap(\.schemes)`: a key path to a static member of an existential
        // metatype crashes Swift 6.3's SIL generation.
        var schemes: [String] = []
        for probe in all { schemes += probe.schemes }
        return schemes
    }

    /// `tls://, ssh://, http://…` for messages.
    public static var schemeList: String { schemes.map { $0 + "://" }.joined(separator: ", ") }
}
