import RBCore

/// `accounts.uid-zero`: accounts other than root with UID 0, and account names defined twice.
public struct UIDZeroCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Names allowed to have UID 0 (default: root).
        var allow: [String]?
    }

    public static let id = "accounts.uid-zero"
    public static let summary = "Reports UID 0 accounts other than root and duplicate account names in passwd."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let allow: Set<String>
    let source: AccountSource

    public init(options: Options) throws(CheckOptionError) {
        allow = Set(options.allow ?? ["root"])
        source = try AccountSource(extraFiles: nil)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var seen: [String: Int] = [:]
        for account in source.accounts(in: context) {
            guard let file = account.passwdFile, let line = account.passwdLine else { continue }
            if account.uid == 0, !allow.contains(account.name) {
                observations.append(Observation(
                    message: "account '\(account.name)' has UID 0: a second root",
                    location: Location(path: file, line: line),
                    evidence: Evidence(key: "uid0:" + account.name, facts: ["account": account.name, "uid": "0"])))
            }
            if let first = seen[account.name] {
                observations.append(Observation(
                    message: "account '\(account.name)' is defined twice (first at line \(first))",
                    location: Location(path: file, line: line),
                    evidence: Evidence(key: "duplicate:" + account.name, facts: ["account": account.name])))
            } else {
                seen[account.name] = line
            }
        }
        return observations
    }
}
