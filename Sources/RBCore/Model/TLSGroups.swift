/// The TLS key-exchange groups rbscan offers and names (IANA TLS Supported Groups registry).
public struct TLSGroup: Sendable, Hashable {
    public enum Kind: String, Sendable { case ellipticCurve, finiteField, hybrid }

    public let id: UInt16
    /// The IANA name (`secp256r1`, `x25519`, `ffdhe2048`, `X25519MLKEM768`).
    public let name: String
    /// Field or prime size in bits (x25519: 255, ffdhe2048: 2048; hybrids: their classical part).
    public let bits: Int
    /// Approximate security strength in bits (NIST SP 800-57), used to offer groups weakest first.
    public let strength: Int
    public let kind: Kind

    /// The size judged against a minimum: x25519's 255-bit field has the 128-bit security of
    /// P-256, so it counts as 256.
    public var judgedBits: Int { id == 29 ? 256 : bits }

    /// Every group rbscan offers, weakest first: a server that honours the client's order then
    /// shows the weakest group it accepts first.
    public static let all: [TLSGroup] = [
        .init(15, "secp160k1", 160, 80), .init(16, "secp160r1", 160, 80), .init(17, "secp160r2", 160, 80),
        .init(1, "sect163k1", 163, 80), .init(2, "sect163r1", 163, 80), .init(3, "sect163r2", 163, 80),
        .init(18, "secp192k1", 192, 96), .init(19, "secp192r1", 192, 96), .init(4, "sect193r1", 193, 96),
        .init(5, "sect193r2", 193, 96), .init(20, "secp224k1", 224, 112), .init(21, "secp224r1", 224, 112),
        .init(6, "sect233k1", 233, 112), .init(7, "sect233r1", 233, 112), .init(8, "sect239k1", 239, 112),
        .init(256, "ffdhe2048", 2048, 112, kind: .finiteField),
        .init(22, "secp256k1", 256, 128), .init(26, "brainpoolP256r1", 256, 128),
        .init(31, "brainpoolP256r1tls13", 256, 128),
        .init(23, "secp256r1", 256, 128), .init(29, "x25519", 255, 128),
        .init(9, "sect283k1", 283, 128), .init(10, "sect283r1", 283, 128),
        .init(257, "ffdhe3072", 3072, 128, kind: .finiteField),
        .init(258, "ffdhe4096", 4096, 150, kind: .finiteField),
        .init(259, "ffdhe6144", 6144, 176, kind: .finiteField),
        .init(27, "brainpoolP384r1", 384, 192), .init(32, "brainpoolP384r1tls13", 384, 192),
        .init(24, "secp384r1", 384, 192), .init(11, "sect409k1", 409, 192), .init(12, "sect409r1", 409, 192),
        .init(260, "ffdhe8192", 8192, 192, kind: .finiteField),
        .init(0x11ec, "X25519MLKEM768", 255, 192, kind: .hybrid),
        .init(0x11eb, "SecP256r1MLKEM768", 256, 192, kind: .hybrid),
        .init(30, "x448", 448, 224),
        .init(28, "brainpoolP512r1", 512, 256), .init(33, "brainpoolP512r1tls13", 512, 256),
        .init(25, "secp521r1", 521, 256), .init(13, "sect571k1", 571, 256), .init(14, "sect571r1", 571, 256),
        .init(0x11ed, "SecP384r1MLKEM1024", 384, 256, kind: .hybrid),
    ]

    static let byID: [UInt16: TLSGroup] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
    static let byName: [String: TLSGroup] = Dictionary(uniqueKeysWithValues: all.flatMap { group in
        [(group.name.lowercased(), group)] + (aliases[group.name].map { [($0.lowercased(), group)] } ?? [])
    })
    /// OpenSSL's names for the same groups, accepted wherever a group is named.
    static let aliases = ["secp256r1": "prime256v1", "secp192r1": "prime192v1"]

    public static func named(_ id: UInt16) -> TLSGroup? { byID[id] }
    public static func named(_ name: String) -> TLSGroup? { byName[name.lowercased()] }

    /// The name of `id`, or `group-0x…` for an unassigned or unknown one.
    public static func name(_ id: UInt16) -> String {
        byID[id]?.name ?? "group-0x" + String(id, radix: 16)
    }

    init(_ id: UInt16, _ name: String, _ bits: Int, _ strength: Int, kind: Kind = .ellipticCurve) {
        self.id = id
        self.name = name
        self.bits = bits
        self.strength = strength
        self.kind = kind
    }
}
