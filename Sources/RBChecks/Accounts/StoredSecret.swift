import RBCore
import RBCrypto

/// Classifies a stored credential value (a config value, a database cell): what a password
/// field in an application's store reveals.
enum StoredSecret {
    enum Verdict: Equatable {
        /// Empty, a placeholder or a reference: nothing stored.
        case nothing
        /// A salted slow hash (crypt, PBKDF2, argon2, bcrypt, scrypt).
        case strongHash
        /// 32/40/64 hex digits: an unsalted fast hash (MD5, SHA-1, SHA-256).
        case fastHash(String)
        /// Base64 that decodes to a printable password.
        case reversible
        /// Printable text: the password itself.
        case plaintext
    }

    /// Key names that hold secrets: `password`, `admin_pass`, `wifi.psk`, `adminPassword`…
    static let keyPattern = try! Regex(#"(?i)(^|[_.\-])(pass(word|wd)?|pwd|psk|passphrase|secret|credentials?)$|[a-z](Pass(word|wd)?|Pwd|Psk|Secret)$"#)
    /// …but not settings about passwords (a word of the key, so `adminPassword` is a secret and
    /// `password_min_length` is not).
    static let skipWords: Set<String> = ["len", "length", "level", "policy", "enable", "enabled", "expire", "expires", "hint",
                                         "strength", "min", "max", "type", "complexity", "rule", "rules", "reset", "change",
                                         "prompt", "file", "path", "url", "mode", "timeout", "retry", "retries", "history", "age"]

    /// `adminPassword` → [admin, password]; `password_min_length` → [password, min, length].
    static func words(_ key: String) -> [String] {
        var words: [String] = []
        var current = ""
        for ch in key {
            if ch == "_" || ch == "." || ch == "-" || ch == " " {
                if !current.isEmpty { words.append(current.lowercased()); current = "" }
            } else if ch.isUppercase, let last = current.last, last.isLowercase {
                words.append(current.lowercased())
                current = String(ch)
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }

    /// Whether `text` holds, in any letter case, a stem every key `isSecretKey` accepts contains
    /// (pass, pwd, psk, secret, credential), for skipping files.
    static func mayHoldSecretKey(_ text: String) -> Bool {
        secretStems.hasMatch(in: Array(text.utf8))
    }

    /// `mayHoldSecretKey` on a file's bytes (the stems are ASCII: UTF-8 repair changes nothing).
    static func mayHoldSecretKey(bytes: [UInt8]) -> Bool {
        secretStems.hasMatch(in: bytes)
    }

    private static let secretStems = try! Regex("(?i)pass|pwd|psk|secret|credential")

    static func isSecretKey(_ key: String) -> Bool {
        keyPattern.firstMatch(in: key) != nil && words(key).allSatisfy { !skipWords.contains($0) }
    }

    static func classify(_ raw: String) -> Verdict {
        let value = String(raw.trimmingWhitespace())
        if value.isEmpty { return .nothing }
        // Placeholders and references: ****, ${VAR}, %VAR%, <password>, $(cmd), {{ tmpl }}.
        if value.allSatisfy({ $0 == "*" || $0 == "x" || $0 == "X" || $0 == "#" }) { return .nothing }
        if value.hasPrefix("${") || value.hasPrefix("$(") || value.hasPrefix("{{") || value.hasPrefix("<")
            || (value.hasPrefix("%") && value.hasSuffix("%")) || value.hasPrefix("@") { return .nothing }
        // A file path is where a secret lives, not the secret (LuCI's `flash_keep` section lists
        // `option passwd "/etc/passwd"` among the files kept over an upgrade).
        if value.hasPrefix("/"), value.dropFirst().contains(where: \.isLetter),
           value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-".contains($0)) }) { return .nothing }
        // rpcd's `$p$USER`: the password of a system account (verified against /etc/shadow).
        if value.hasPrefix("$p$"), value.count > 3 { return .nothing }
        let strongPrefixes = ["$2a$", "$2b$", "$2y$", "$5$", "$6$", "$y$", "$gy$", "$7$", "$argon2", "$pbkdf2", "pbkdf2_", "$scrypt", "{SSHA512}", "{PBKDF2}"]
        if strongPrefixes.contains(where: { value.hasPrefix($0) }) { return .strongHash }
        // MD5-crypt: salted, but a thousand MD5 rounds (RB-PWD-004 judges it weak in /etc/shadow).
        if value.hasPrefix("$1$"), value.count > 10 { return .fastHash("MD5-crypt") }
        if [32, 40, 64].contains(value.count), value.allSatisfy(\.isHexDigit) {
            return .fastHash(value.count == 32 ? "MD5" : value.count == 40 ? "SHA-1" : "SHA-256")
        }
        if value.count >= 8, value.count % 4 == 0, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" || $0 == "=") }),
           let data = Base64.decode(value), (4...64).contains(data.count),
           data.allSatisfy({ (0x20...0x7e).contains($0) }) {
            return .reversible
        }
        return .plaintext
    }
}
