import RBCore

/// One account, merged from passwd and shadow (and group for names), with where it is defined.
public struct Account: Sendable, Hashable {
    public var name: String
    public var uid: Int?
    public var gid: Int?
    public var home: String?
    public var shell: String?
    /// The password field that counts: shadow's when passwd says `x` and a shadow entry exists.
    public var password: String
    /// Where `password` comes from (file and 1-based line).
    public var passwordFile: String
    public var passwordLine: Int
    /// Where the account is defined in passwd (for UID and shell findings).
    public var passwdFile: String?
    public var passwdLine: Int?

    /// What the password field means.
    public var hash: PasswordHash { PasswordHash(password) }
}

/// A password field classified by its format.
public struct PasswordHash: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// Empty: anyone logs in without a password.
        case empty
        /// `!`, `*`, `!!`, `!…` prefixes, `*LK*`: no password login.
        case locked
        /// `x` in passwd: the real field is in shadow.
        case shadowed
        case des, bsdi, md5, apr1, sha256, sha512, bcrypt, yescrypt, gostYescrypt, scrypt, sunMD5, nt
        /// htpasswd `{SHA}`: base64 of an unsalted SHA-1.
        case sha1
        /// Anything else printable: a plaintext password or an unknown format.
        case unknown
    }

    public let field: String
    public let kind: Kind
    /// SHA-crypt rounds (default 5000), bcrypt cost, bsdi iterations, when stated.
    public let cost: Int?
    /// The field with a lock prefix removed (`!$6$…` is a locked SHA-512 hash).
    public let lockedHash: String?

    public init(_ field: String) {
        self.field = field
        var body = Substring(field)
        var locked = false
        while body.hasPrefix("!") { body = body.dropFirst(); locked = true }
        if field.isEmpty {
            kind = .empty; cost = nil; lockedHash = nil; return
        }
        if field == "x" {
            kind = .shadowed; cost = nil; lockedHash = nil; return
        }
        if field == "*" || field == "!!" || field == "!" || field.hasPrefix("*") || field == "*LK*" || body.isEmpty {
            kind = .locked; cost = nil; lockedHash = nil; return
        }
        let (bodyKind, bodyCost) = PasswordHash.classify(String(body))
        if locked {
            kind = .locked; cost = bodyCost; lockedHash = String(body)
        } else {
            kind = bodyKind; cost = bodyCost; lockedHash = nil
        }
    }

    static func classify(_ body: String) -> (Kind, Int?) {
        func rounds(_ prefix: String) -> Int {
            // $5$rounds=N$salt$hash
            let rest = body.dropFirst(prefix.count)
            guard rest.hasPrefix("rounds="), let end = rest.firstIndex(of: "$") else { return 5000 }
            return Int(rest[rest.index(rest.startIndex, offsetBy: 7)..<end]) ?? 5000
        }
        if body.hasPrefix("{SHA}") { return (.sha1, nil) }
        if body.hasPrefix("$1$") { return (.md5, nil) }
        if body.hasPrefix("$apr1$") { return (.apr1, nil) }
        if body.hasPrefix("$5$") { return (.sha256, rounds("$5$")) }
        if body.hasPrefix("$6$") { return (.sha512, rounds("$6$")) }
        if body.hasPrefix("$2a$") || body.hasPrefix("$2b$") || body.hasPrefix("$2y$") || body.hasPrefix("$2x$") {
            let costText = body.dropFirst(4).prefix(2)
            return (.bcrypt, Int(costText))
        }
        if body.hasPrefix("$y$") { return (.yescrypt, nil) }
        if body.hasPrefix("$gy$") { return (.gostYescrypt, nil) }
        if body.hasPrefix("$7$") { return (.scrypt, nil) }
        if body.hasPrefix("$md5") { return (.sunMD5, nil) }
        if body.hasPrefix("$3$") { return (.nt, nil) }
        if body.hasPrefix("_"), body.count == 20 { return (.bsdi, nil) }
        if body.count == 13, body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "/") }) {
            return (.des, nil)
        }
        return (.unknown, nil)
    }

    /// Whether the field allows a password login with some password (not locked, not empty).
    public var isUsable: Bool {
        switch kind {
        case .empty, .locked, .shadowed: false
        default: true
        }
    }

    /// Whether libxcrypt can verify candidates against it.
    public var isCrackable: Bool {
        switch kind {
        case .des, .bsdi, .md5, .apr1, .sha1, .sha256, .sha512, .bcrypt, .yescrypt, .gostYescrypt, .scrypt, .sunMD5, .nt: true
        default: false
        }
    }

    public var algorithmName: String {
        switch kind {
        case .des: "DES crypt"
        case .bsdi: "BSDi extended DES"
        case .md5: "MD5-crypt ($1$)"
        case .apr1: "Apache MD5 ($apr1$)"
        case .sha256: "SHA-256-crypt ($5$)"
        case .sha512: "SHA-512-crypt ($6$)"
        case .bcrypt: "bcrypt"
        case .yescrypt: "yescrypt ($y$)"
        case .gostYescrypt: "GOST yescrypt ($gy$)"
        case .scrypt: "scrypt ($7$)"
        case .sunMD5: "SunMD5"
        case .nt: "NT hash ($3$)"
        case .sha1: "unsalted SHA-1 ({SHA})"
        case .unknown: "plaintext or unknown format"
        case .empty: "empty"
        case .locked: "locked"
        case .shadowed: "in shadow"
        }
    }
}

/// passwd / shadow / group parsing (glibc and BusyBox write the same formats).
public enum AccountFiles {
    public struct Line: Sendable {
        public var fields: [Substring]
        public var number: Int
    }

    /// Non-comment, non-empty colon-separated lines.
    public static func lines(_ text: String) -> [Line] {
        var result: [Line] = []
        for (i, raw) in text.splitLines().enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            guard !line.isEmpty, !line.hasPrefix("#"), !line.hasPrefix("+"), !line.hasPrefix("-") else { continue }
            result.append(Line(fields: line.split(separator: ":", omittingEmptySubsequences: false), number: i + 1))
        }
        return result
    }

    /// The accounts of a root: passwd merged with shadow. Without a shadow file the passwd field
    /// is the password (BusyBox images often have none).
    public static func accounts(passwd: (path: String, text: String)?, shadow: (path: String, text: String)?) -> [Account] {
        var shadowByName: [String: (String, Int)] = [:]
        var order: [String] = []
        if let shadow {
            for line in lines(shadow.text) where line.fields.count >= 2 {
                let name = String(line.fields[0])
                if shadowByName[name] == nil { order.append(name) }
                shadowByName[name] = (String(line.fields[1]), line.number)
            }
        }
        var accounts: [Account] = []
        var seen = Set<String>()
        if let passwd {
            for line in lines(passwd.text) where line.fields.count >= 2 {
                let name = String(line.fields[0])
                var account = Account(name: name, uid: line.fields.count > 2 ? Int(line.fields[2]) : nil,
                                      gid: line.fields.count > 3 ? Int(line.fields[3]) : nil,
                                      home: line.fields.count > 5 ? String(line.fields[5]) : nil,
                                      shell: line.fields.count > 6 ? String(line.fields[6]) : nil,
                                      password: String(line.fields[1]), passwordFile: passwd.path, passwordLine: line.number,
                                      passwdFile: passwd.path, passwdLine: line.number)
                if account.password == "x", let shadow, let (field, number) = shadowByName[name] {
                    account.password = field
                    account.passwordFile = shadow.path
                    account.passwordLine = number
                }
                accounts.append(account)
                seen.insert(name)
            }
        }
        // Shadow entries without a passwd line still hold hashes worth checking.
        if let shadow {
            for name in order where !seen.contains(name) {
                let (field, number) = shadowByName[name]!
                accounts.append(Account(name: name, password: field, passwordFile: shadow.path, passwordLine: number))
            }
        }
        return accounts
    }
}
