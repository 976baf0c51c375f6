import RBCore

/// `accounts.weak-hash`: password hashes of a weak or unsalted algorithm (DES, MD5-crypt,
/// `$apr1$`, `{SHA}`, plaintext), SHA-256-crypt at a lower severity, and SHA-crypt rounds or
/// bcrypt costs below a minimum. Locked accounts are ignored.
public struct WeakHashCheck: Check {
    public struct Options: Decodable, Sendable {
        var files: [String]?
        /// Minimum SHA-crypt rounds (default 5000, the glibc default).
        var minimumRounds: Int?
        /// Minimum bcrypt cost (default 10).
        var minimumBcryptCost: Int?
    }

    public static let id = "accounts.weak-hash"
    public static let summary = "Reports password hashes of weak, unsalted or too cheap algorithms."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let source: AccountSource
    let minimumRounds: Int
    let minimumCost: Int

    public init(options: Options) throws(CheckOptionError) {
        source = try AccountSource(extraFiles: options.files)
        minimumRounds = options.minimumRounds ?? 5000
        minimumCost = options.minimumBcryptCost ?? 10
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        source.accounts(in: context).compactMap { account in
            let hash = account.hash
            var severity: Severity?
            var reason: String
            switch hash.kind {
            case .des, .bsdi, .md5, .apr1, .nt, .sunMD5, .sha1:
                reason = "\(hash.algorithmName), a weak algorithm"
            case .unknown:
                if hash.field.hasPrefix("{SSHA}") {
                    reason = "fast salted SHA-1 ({SSHA}), a weak algorithm"
                } else {
                    reason = "not a hash: a plaintext password or an unknown format"
                }
            case .sha256:
                reason = "SHA-256-crypt; SHA-512-crypt or yescrypt are expected"
                severity = .low
                if let rounds = hash.cost, rounds < minimumRounds { reason += ", and only \(rounds) rounds"; severity = nil }
            case .sha512:
                guard let rounds = hash.cost, rounds < minimumRounds else { return nil }
                reason = "SHA-512-crypt with only \(rounds) rounds (at least \(minimumRounds))"
            case .bcrypt:
                guard let cost = hash.cost, cost < minimumCost else { return nil }
                reason = "bcrypt with cost \(cost) (at least \(minimumCost))"
            default:
                return nil
            }
            return Observation(severity: severity,
                               message: "account '\(account.name)': password hash is \(reason)",
                               location: Location(path: account.passwordFile, line: account.passwordLine),
                               evidence: Evidence(key: "hash:" + account.name + ":" + hash.kind.rawValue,
                                                  facts: ["account": account.name, "algorithm": hash.algorithmName]))
        }
    }
}
