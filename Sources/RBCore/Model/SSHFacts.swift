/// What the SSH probe learned about one `ssh://` endpoint (no login): the JSON report's
/// `endpoints[].ssh`.
public struct SSHFacts: Codable, Sendable, Equatable {
    /// The identification line, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
    public var banner: String
    /// Algorithm name-lists of the server's KEXINIT (ciphers and MACs: client-to-server, then
    /// any server-to-client extras).
    public var kex: [String]
    public var hostKeyAlgorithms: [String]
    public var ciphers: [String]
    public var macs: [String]
    public var compression: [String]

    public struct HostKey: Codable, Sendable, Equatable {
        /// `ssh-rsa`, `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-dss`.
        public var type: String
        public var bits: Int
        /// SHA-256 of the public key blob, hex: the key's identity across devices.
        public var sha256: String
        public init(type: String, bits: Int, sha256: String) {
            self.type = type
            self.bits = bits
            self.sha256 = sha256
        }
    }

    /// Host keys read through key exchange (one per key type probed).
    public var hostKeys: [HostKey]
    /// The prime a diffie-hellman-group-exchange server sends for a 1024-bit request.
    public var gexModulusBits: Int?
    public var handshakes: Int
    public var problems: [String]
    /// Default-credential attempts, password or keyboard-interactive (`--allow-auth-tests` only).
    public var defaultLogin: LoginAttempts?

    /// The protocol version of the banner: `2.0`, `1.99`, `1.5`.
    public var protocolVersion: String {
        banner.split(separator: "-", maxSplits: 2).dropFirst().first.map(String.init) ?? ""
    }

    /// Whether the server offers strict key exchange (the Terrapin countermeasure).
    public var strictKex: Bool { kex.contains("kex-strict-s-v00@openssh.com") }

    public init(banner: String, kex: [String] = [], hostKeyAlgorithms: [String] = [], ciphers: [String] = [],
                macs: [String] = [], compression: [String] = [], hostKeys: [HostKey] = [], gexModulusBits: Int? = nil,
                handshakes: Int = 0, problems: [String] = []) {
        self.banner = banner
        self.kex = kex
        self.hostKeyAlgorithms = hostKeyAlgorithms
        self.ciphers = ciphers
        self.macs = macs
        self.compression = compression
        self.hostKeys = hostKeys
        self.gexModulusBits = gexModulusBits
        self.handshakes = handshakes
        self.problems = problems
    }
}
