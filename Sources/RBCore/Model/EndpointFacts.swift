/// What the TLS scanner learned about one endpoint: the JSON report's `endpoints[].tls`.
public struct TLSFacts: Codable, Sendable, Equatable {
    public struct ProtocolFacts: Codable, Sendable, Equatable {
        public var supported: Bool
        /// IANA names, in the order the server chose them (its preference where it has one).
        public var cipherSuites: [String]
        public init(supported: Bool, cipherSuites: [String]) {
            self.supported = supported
            self.cipherSuites = cipherSuites
        }
    }

    /// Keyed by SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3.
    public var protocols: [String: ProtocolFacts]
    /// The leaf certificate served (PEM), read by a real OpenSSL handshake; nil when none was.
    public var certificate: String?
    /// The DHE prime size the server uses (TLS 1.2 and older), when it accepts DHE suites.
    public var dhBits: Int?
    /// The ECDHE group the server picks when offered every curve weakest first, and its size.
    public var ecdhGroup: String?
    public var ecdhBits: Int?
    /// TCP connections (handshakes) the scan used.
    public var handshakes: Int
    /// Why parts of the scan could not be done (timeouts, resets, not TLS).
    public var problems: [String]

    /// Whether any protocol version got a ServerHello (the endpoint speaks TLS at all).
    public var reachable: Bool { protocols.values.contains { $0.supported } }

    /// The accepted suites of the versions that are supported, as (version, suite) pairs.
    public var acceptedSuites: [(version: String, suite: String)] {
        TLSFacts.versionOrder.flatMap { version in
            (protocols[version]?.cipherSuites ?? []).map { (version, $0) }
        }
    }

    public static let versionOrder = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]

    public init(protocols: [String: ProtocolFacts], handshakes: Int, problems: [String]) {
        self.protocols = protocols
        self.handshakes = handshakes
        self.problems = problems
    }
}

/// A network endpoint target: `tls://host:port`.
public struct Endpoint: Sendable, Hashable {
    public var scheme: String
    public var host: String
    public var port: UInt16

    public init(scheme: String, host: String, port: UInt16) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// `tls://camera.local:443`, `tls://127.0.0.1:8443`, `tls://[::1]:443`; the port defaults
    /// to 443. Paths, user info and empty hosts are refused.
    public init?(parsing spec: String) {
        guard let sep = spec.range(of: "://") else { return nil }
        let scheme = String(spec[..<sep.lowerBound])
        var rest = Substring(spec[sep.upperBound...])
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else { return nil }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-.:_".contains($0) }) else { return nil }
        var port: UInt16 = 443
        if let portText {
            guard let value = UInt16(portText), value > 0 else { return nil }
            port = value
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    public var uri: String {
        "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
