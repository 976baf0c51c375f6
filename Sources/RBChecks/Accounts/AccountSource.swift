import RBCore

/// Where the checks of the accounts family find accounts: the system files (passwd merged with
/// shadow) and, optionally, htpasswd-style `user:hash` files.
struct AccountSource: Sendable {
    static let passwdPaths = ["etc/passwd"]
    static let shadowPaths = ["etc/shadow"]

    let extraFiles: [Glob]

    init(extraFiles: [String]?) throws(CheckOptionError) {
        self.extraFiles = try PathPatterns.compile(extraFiles ?? [], key: "files")
    }

    /// The accounts of the target; for a config target, the file itself read as passwd/shadow.
    func accounts(in context: CheckContext) -> [Account] {
        func load(_ patterns: [String]) -> (path: String, text: String)? {
            guard let globs = try? PathPatterns.compile(patterns, key: "paths"),
                  let entry = context.files(matching: globs).first, let text = context.readText(entry) else { return nil }
            return (entry.path, text)
        }
        var accounts = AccountFiles.accounts(passwd: load(AccountSource.passwdPaths), shadow: load(AccountSource.shadowPaths))
        for entry in context.files(matching: extraFiles) {
            guard let text = context.readText(entry) else { continue }
            for line in AccountFiles.lines(text) where line.fields.count >= 2 {
                accounts.append(Account(name: String(line.fields[0]), password: String(line.fields[1]),
                                        passwordFile: entry.path, passwordLine: line.number))
            }
        }
        return accounts
    }
}

/// `UID_MIN` from login.defs (default 1000).
enum LoginDefs {
    static func uidMin(in context: CheckContext) -> Int {
        guard let globs = try? PathPatterns.compile(["etc/login.defs"], key: "paths"),
              let entry = context.files(matching: globs).first, let text = context.readText(entry) else { return 1000 }
        for pair in KeyValueCheck.parse(text, format: .space, comments: ["#"]) where pair.key == "UID_MIN" {
            if let value = Int(pair.value) { return value }
        }
        return 1000
    }
}
