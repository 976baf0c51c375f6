import RBCore

/// `accounts.service-shell`: system accounts (0 < UID < UID_MIN from login.defs) that have an
/// interactive shell and a usable password.
public struct ServiceAccountCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Shells counted as interactive.
        var shells: [String]?
    }

    public static let id = "accounts.service-shell"
    public static let summary = "Reports service accounts with an interactive shell and a usable password."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let shells: Set<String>
    let source: AccountSource

    public init(options: Options) throws(CheckOptionError) {
        shells = Set(options.shells ?? ["/bin/sh", "/bin/ash", "/bin/bash", "-sh", "/bin/hush", "/bin/zsh", "/bin/dash",
                                         "/usr/bin/bash", "/usr/bin/sh", "/bin/busybox"])
        source = try AccountSource(extraFiles: nil)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let uidMin = LoginDefs.uidMin(in: context)
        return source.accounts(in: context).compactMap { account in
            guard let uid = account.uid, uid > 0, uid < uidMin, let shell = account.shell, shells.contains(shell),
                  account.hash.isUsable, let file = account.passwdFile, let line = account.passwdLine else { return nil }
            return Observation(
                message: "service account '\(account.name)' (UID \(uid)) has the shell \(shell) and a usable password",
                location: Location(path: file, line: line),
                evidence: Evidence(key: "service:" + account.name, facts: ["account": account.name, "uid": String(uid), "shell": shell]))
        }
    }
}
