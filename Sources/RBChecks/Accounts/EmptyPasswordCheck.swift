import RBCore

/// `accounts.empty-password`: accounts anyone can log in to without a password (an empty
/// password field in shadow, or in passwd where it is not `x`).
public struct EmptyPasswordCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Extra `user:hash` files (htpasswd and the like).
        var files: [String]?
    }

    public static let id = "accounts.empty-password"
    public static let summary = "Reports accounts whose password field is empty (login without a password)."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let source: AccountSource

    public init(options: Options) throws(CheckOptionError) {
        source = try AccountSource(extraFiles: options.files)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        source.accounts(in: context).filter { $0.hash.kind == .empty }.map { account in
            Observation(message: "account '\(account.name)' has an empty password: it logs in without one",
                        location: Location(path: account.passwordFile, line: account.passwordLine),
                        evidence: Evidence(key: "empty:" + account.name, snippet: account.name + "::",
                                           facts: ["account": account.name]))
        }
    }
}
