/// What the TLS scanner learned about one endpoint: the JSON report's `endpoints[].tls`.
public struct TLSFacts: Codable, Sendable, Equatable {
    public struct ProtocolFacts: Codable, Sendable, Equatable {
        public var supported: Bool
        /// IANA names, in the order the server chose them (its preference where it has one).
        public var cipherSuites: [String]
        /// The key-exchange groups accepted (IANA names), in the order the server picked them
        /// from an offer of every group weakest first: the first is what it negotiates with a
        /// client that prefers weak groups. TLS 1.3 (key shares), and for TLS 1.2 and older the
        /// ECDHE curves of the newest version that accepts ECDHE suites; nil when not enumerated.
        public var groups: [String]?
        public init(supported: Bool, cipherSuites: [String], groups: [String]? = nil) {
            self.supported = supported
            self.cipherSuites = cipherSuites
            self.groups = groups
        }
    }

    /// Keyed by SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3.
    public var protocols: [String: ProtocolFacts]
    /// The leaf certificate served (PEM), read by a real OpenSSL handshake; nil when none was.
    public var certificate: String?
    /// The DHE prime size in the ServerKeyExchange (TLS 1.2 and older), when DHE suites are accepted.
    public var dhBits: Int?
    /// TLS 1.2 and older, from the first ServerHello that version got: whether the server
    /// answers the renegotiation_info extension (RFC 5746 secure renegotiation), whether it
    /// chose DEFLATE compression when offered (CRIME), whether it echoes the heartbeat extension.
    public var secureRenegotiation: Bool?
    public var compression: Bool?
    public var heartbeat: Bool?
    /// Chain verification of the served certificate against `--ca-file` (nil without one).
    public struct Trust: Codable, Sendable, Equatable {
        public var caFile: String
        public var verified: Bool
        /// OpenSSL's reason when the chain does not verify ("self-signed certificate" …).
        public var error: String?
        /// Whether the leaf names the host scanned (subjectAltName DNS or IP, else CN).
        public var hostnameMatch: Bool
        public init(caFile: String, verified: Bool, error: String?, hostnameMatch: Bool) {
            self.caFile = caFile
            self.verified = verified
            self.error = error
            self.hostnameMatch = hostnameMatch
        }
    }

    public var trust: Trust?

    /// The served leaf, parsed (OpenSSL): what a triager reads without decoding the PEM.
    public struct CertificateSummary: Codable, Sendable, Equatable {
        public var subject: String
        public var issuer: String
        public var selfSigned: Bool
        /// RSA, EC, DSA, Ed25519 …, and its size in bits.
        public var keyType: String
        public var keyBits: Int
        public var signatureAlgorithm: String
        /// ISO 8601, UTC.
        public var notBefore: String
        public var notAfter: String
        /// SHA-256 of the DER SubjectPublicKeyInfo, hex: the key's identity across devices.
        public var spkiSHA256: String
        public init(subject: String, issuer: String, selfSigned: Bool, keyType: String, keyBits: Int,
                    signatureAlgorithm: String, notBefore: String, notAfter: String, spkiSHA256: String) {
            self.subject = subject
            self.issuer = issuer
            self.selfSigned = selfSigned
            self.keyType = keyType
            self.keyBits = keyBits
            self.signatureAlgorithm = signatureAlgorithm
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.spkiSHA256 = spkiSHA256
        }
    }

    public var certificateFacts: CertificateSummary?
    /// How many certificates the server sent (leaf included).
    public var chainLength: Int?
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

    /// Every accepted group of every version, once, in version order.
    public var acceptedGroups: [String] {
        var seen = Set<String>()
        return TLSFacts.versionOrder.flatMap { protocols[$0]?.groups ?? [] }.filter { seen.insert($0).inserted }
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

    /// `tls://camera.local:443`, `tls://127.0.0.1:8443`, `tls://[::1]:443`, `ssh://camera.local`;
    /// the port defaults to the scheme's (443, 22 …). Paths, user info and empty hosts are refused.
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
        var port = Endpoint.defaultPorts[scheme] ?? 443
        if let portText {
            guard let value = UInt16(portText), value > 0 else { return nil }
            port = value
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    /// The port a scheme means when none is given.
    public static let defaultPorts: [String: UInt16] = ["tls": 443, "https": 443, "ssh": 22, "http": 80, "rtsp": 554, "telnet": 23, "snmp": 161]

    public var uri: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return scheme == "host" ? "host://\(name)" : "\(scheme)://\(name):\(port)"
    }
}
