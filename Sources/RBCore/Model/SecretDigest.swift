import RBCrypto

/// How secrets are named in output without being recoverable. A plain hash of a password is not
/// a mask: a word list reverses it. So every digest of a secret (a credential value, a password
/// hash compared across a fleet) is an HMAC-SHA256:
/// - under the key the user supplies (`--secret-key-file FILE` or `RBSCAN_SECRET_KEY`), for
///   matching the same secret across runs, shards and releases: such digests appear in reports;
/// - otherwise under a random key made for this run only: they serve comparisons inside the run
///   (the same password hash on two images) and never appear in any report.
/// Finding identities (evidence keys) use the keyed digest only with a user key; without one,
/// they use what is not secret (the setting's name, the kind and the occurrence in the file).
public struct SecretDigest: Sendable, Hashable {
    private let key: [UInt8]
    /// Whether the key is the user's (digests may be written to reports).
    public let userKeyed: Bool

    /// `userKey`: the user's key; nil for a key of this run only.
    public init(userKey: [UInt8]? = nil) {
        if let userKey, !userKey.isEmpty {
            key = userKey
            userKeyed = true
        } else {
            if let random = SecureRandom.bytes(32) {
                key = random
            } else {
                // No randomness: fall back on the clock and the address space, never on a constant.
                var seed = SystemRandomNumberGenerator()
                key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &seed) }
            }
            userKeyed = false
        }
    }

    /// HMAC-SHA256 of `value` under the key, 32 hex digits.
    public func hex(_ value: some Sequence<UInt8>) -> String {
        guard let mac = Digest.hmac(Array(value), key: key, .sha256) else { preconditionFailure("HMAC-SHA256 failed") }
        return String(Hex.encode(mac).prefix(32))
    }

    public func hex(_ value: String) -> String { hex(Array(value.utf8)) }

    /// The keyed digest for a finding's identity, only when the key is the user's (stable across
    /// runs); nil otherwise.
    public func identity(_ value: String) -> String? {
        userKeyed ? hex(value) : nil
    }

    /// Names the key without revealing it (an HMAC of a constant): digests are only compared
    /// between reports whose key IDs agree.
    public var keyID: String { String(hex("rbscan secret key check").prefix(16)) }
}
