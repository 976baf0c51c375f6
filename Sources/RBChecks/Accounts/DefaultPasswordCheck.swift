import RBCore

/// `accounts.default-password`: every usable hash is verified against the bundled dictionary of
/// IoT and vendor default credentials (plus `--wordlist`), account-paired candidates first,
/// on all cores within the scan's time budget. A match names the account, never the password.
public struct DefaultPasswordCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Extra `user:hash` files (htpasswd, mosquitto password files).
        var files: [String]?
        /// Extra candidates for this rule.
        var candidates: [String]?
    }

    public static let id = "accounts.default-password"
    public static let summary = "Verifies password hashes against default and guessable passwords (libxcrypt, all cores)."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let source: AccountSource
    let extra: [String]

    public init(options: Options) throws(CheckOptionError) {
        source = try AccountSource(extraFiles: options.files)
        extra = options.candidates ?? []
    }

    public var costHint: Int { 50 }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let accounts = source.accounts(in: context).filter { $0.hash.isUsable && $0.hash.isCrackable }
        guard !accounts.isEmpty else { return [] }
        // One job per distinct hash; accounts sharing a hash share the result.
        var jobsByHash: [String: Int] = [:]
        var jobs: [Cracker.Job] = []
        for account in accounts where jobsByHash[account.password] == nil {
            jobsByHash[account.password] = jobs.count
            jobs.append(Cracker.Job(hash: account.password,
                                    candidates: DefaultCredentials.candidates(for: account.name,
                                                                              extra: extra + context.limits.extraPasswords)))
        }
        let cracker = Cracker(threads: context.limits.threads, budget: .milliseconds(Int(context.limits.crackSeconds * 1000)))
        let outcome = cracker.run(jobs)
        Profiler.print("crack \(context.target.spec): \(outcome.tried) candidates in \(outcome.seconds) s over \(jobs.count) hash(es), \(context.limits.threads) thread(s)")
        var observations: [Observation] = []
        for account in accounts {
            let job = jobsByHash[account.password]!
            guard outcome.matches[job] != nil else { continue }
            observations.append(Observation(
                message: "account '\(account.name)' has a default or guessable password (it matched the default-credential dictionary; \(account.hash.algorithmName))",
                location: Location(path: account.passwordFile, line: account.passwordLine),
                evidence: Evidence(key: "default:" + account.name,
                                   facts: ["account": account.name, "algorithm": account.hash.algorithmName])))
        }
        if outcome.timedOut {
            context.report("the password check stopped after \(Int(context.limits.crackSeconds)) s: \(outcome.tried) of \(outcome.total) candidates tried; raise --crack-seconds",
                           code: "check.time-budget")
        }
        return observations
    }
}
