/// A kind of fact an endpoint probe establishes (`TLSFacts`, `SSHFacts`…): a target holds at most
/// one value of each.
public protocol TargetFact: Sendable {}

/// What the probes found about one target, keyed by fact type. A new protocol brings its own
/// fact type and probe; the target, the session and the engine need no field for it.
public struct TargetFacts: Sendable {
    private var storage: [ObjectIdentifier: any TargetFact] = [:]

    public init() {}

    public subscript<Fact: TargetFact>(_ type: Fact.Type) -> Fact? {
        get { storage[ObjectIdentifier(type)] as? Fact }
        set { storage[ObjectIdentifier(type)] = newValue }
    }

    public var isEmpty: Bool { storage.isEmpty }

    /// Adds `other`'s facts; a fact of a type both hold is `other`'s.
    public mutating func merge(_ other: TargetFacts) {
        storage.merge(other.storage) { $1 }
    }
}

// The facts of the built-in probes, with shorthands for the checks that read them.
extension TLSFacts: TargetFact {}
extension SSHFacts: TargetFact {}
extension HTTPFacts: TargetFact {}
extension RTSPFacts: TargetFact {}
extension SNMPFacts: TargetFact {}
extension HostFacts: TargetFact {}

extension ScanTarget {
    /// For a `tls://` endpoint: what the TLS scanner found.
    public var tls: TLSFacts? {
        get { facts[TLSFacts.self] }
        set { facts[TLSFacts.self] = newValue }
    }
    /// For an `ssh://` endpoint: what the SSH probe found.
    public var ssh: SSHFacts? {
        get { facts[SSHFacts.self] }
        set { facts[SSHFacts.self] = newValue }
    }
    /// For an `http://` or `https://` endpoint: what the HTTP probe found.
    public var http: HTTPFacts? {
        get { facts[HTTPFacts.self] }
        set { facts[HTTPFacts.self] = newValue }
    }
    /// For an `rtsp://` endpoint: what the RTSP probe found.
    public var rtsp: RTSPFacts? {
        get { facts[RTSPFacts.self] }
        set { facts[RTSPFacts.self] = newValue }
    }
    /// For an `snmp://` endpoint: which default communities answered.
    public var snmp: SNMPFacts? {
        get { facts[SNMPFacts.self] }
        set { facts[SNMPFacts.self] = newValue }
    }
    /// For a host target (`host://NAME` or an IP literal): what the port sweep found.
    public var host: HostFacts? {
        get { facts[HostFacts.self] }
        set { facts[HostFacts.self] = newValue }
    }
}
