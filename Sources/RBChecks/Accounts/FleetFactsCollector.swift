import RBCore

/// The facts the fleet rules compare across targets (RB-TLS-009, RB-PWD-007, RB-PKG-006): the
/// TLS leaf key and SSH host keys an endpoint served, an HMAC of every real password hash of a
/// firmware or config target's accounts (see `SecretDigest`; the hash itself never leaves the
/// scan, its digest only under the user's key), and the keys
/// a firmware image trusts for updates and boot.
public enum FleetFactsCollector {
    public static func collect(_ context: CheckContext) -> FleetFacts {
        var facts = FleetFacts()
        if let spki = context.target.tls?.certificateFacts?.spkiSHA256 { facts.tlsKeys = [spki] }
        facts.sshHostKeys = (context.target.ssh?.hostKeys ?? []).map(\.sha256).sorted()
        if context.tree != nil, let source = try? AccountSource(extraFiles: nil) {
            for account in source.accounts(in: context) {
                switch account.hash.kind {
                case .empty, .locked, .shadowed, .unknown: continue
                default:
                    facts.passwordHashes.append(FleetFacts.PasswordHashFact(
                        account: account.name, digest: context.limits.secrets.hex(account.password),
                        file: account.passwordFile, line: account.passwordLine))
                }
            }
        }
        if !facts.passwordHashes.isEmpty {
            facts.passwordKey = context.limits.secrets.keyID
            facts.passwordKeyIsUsers = context.limits.secrets.userKeyed
        }
        if context.kind == .firmware, context.tree != nil {
            let keys = SigningKeyCheck(knownKeys: []).trustedKeys(in: context, includingGiven: false)
            if !keys.isEmpty { facts.trustedKeys = keys.map { FleetFacts.TrustedKeyFact(key: $0.identity, source: $0.source) } }
        }
        return facts
    }
}
