import RBCore

/// `accounts.duplicate-hash`: the same password hash (salt included) on two or more accounts,
/// which means a shared password set by a script.
public struct DuplicateHashCheck: Check {
    public struct Options: Decodable, Sendable {
        var files: [String]?
    }

    public static let id = "accounts.duplicate-hash"
    public static let summary = "Reports identical password hashes shared by several accounts."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let source: AccountSource

    public init(options: Options) throws(CheckOptionError) {
        source = try AccountSource(extraFiles: options.files)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var groups: [String: [Account]] = [:]
        for account in source.accounts(in: context) where account.hash.isUsable {
            groups[account.password, default: []].append(account)
        }
        return groups.values.filter { $0.count > 1 }.flatMap { group -> [Observation] in
            let names = group.map(\.name)
            return group.dropFirst().map { account in
                Observation(message: "account '\(account.name)' has the same password hash as '\(group[0].name)'",
                            location: Location(path: account.passwordFile, line: account.passwordLine),
                            evidence: Evidence(key: "same-hash:" + names.sorted().joined(separator: ","),
                                               facts: ["accounts": names.joined(separator: ", ")]))
            }
        }
    }
}
