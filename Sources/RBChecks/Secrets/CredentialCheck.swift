#if canImport(Glibc)
import Glibc
#endif
import RBCore

/// `secrets.credentials`: hard-coded credentials, tokens and preset third-party secrets in text
/// files (RB-SEN-002). High-precision patterns first: URL userinfo (`ftp://user:pass@host`),
/// credentials on command lines (`curl -u`, `wget --password`, `sshpass -p`, `ftpput -p`,
/// `mysql -p…`), cloud token formats (AWS, Google, Aliyun, Tencent, Azure storage, GitHub, Slack),
/// Wi-Fi preset passphrases (hostapd `wpa_passphrase`, wpa_supplicant `psk="…"`); then generic
/// `password=` / `token=` / `secret=` assignments in configuration files, kept only when the
/// value is not a placeholder or a variable and looks random enough (entropy and character
/// classes). Every value is masked in the evidence; the identity is a digest of the value.
public struct CredentialCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        /// Where generic `password=` assignments are judged (configuration files).
        var configPaths: [String]?
        /// Minimum Shannon entropy (bits per character) of a generic assignment's value.
        var minimumEntropy: Double?
    }

    public static let id = "secrets.credentials"
    public static let summary = "Finds hard-coded credentials, cloud tokens and preset Wi-Fi secrets in text files, masked."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    struct Pattern {
        var kind: String
        /// Literals one of which every match contains: the regex runs only on files holding one.
        var literals: [[UInt8]]
        var regex: Regex
        /// The capture group holding the secret.
        var group: Int
        /// Whether the value goes through the placeholder filter.
        var filtered: Bool
        /// How far after its literal a match can end (the pattern runs only that near).
        var reach: Int
        /// The literals' positions in `literalScan` (its hits are found by position).
        var literalIndices: [Int] = []
    }

    static let specific: [(String, [String], String, Int, Bool)] = [
        ("URL credentials", ["://"], #"\b[a-z][a-z0-9+.\-]{1,15}://([^/\s:@'"]{1,64}):([^/\s@'"]{1,128})@[\w.\-\[]"#, 2, true),
        ("curl credentials", ["curl"], #"\bcurl\b[^\n]*?\s(?:-u|--user)\s*['"]?([^\s:'"]+):([^\s'"]+)"#, 2, true),
        ("wget password", ["password"], #"\bwget\b[^\n]*?--(?:http-|ftp-)?password[= ]['"]?([^\s'"]+)"#, 1, true),
        ("sshpass password", ["sshpass"], #"\bsshpass\s+-p\s*['"]?([^\s'"]+)"#, 1, true),
        ("ftpput/ftpget password", ["ftpput", "ftpget"], #"\bftp(?:put|get)\b[^\n]*?\s-p\s+['"]?([^\s'"]+)"#, 1, true),
        ("mysql password", ["mysql"], #"\bmysql(?:dump|admin)?\b[^\n]*?\s-p([^\s'"-][^\s'"]*)"#, 1, true),
        ("AWS access key ID", ["AKIA", "ASIA"], #"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"#, 1, false),
        ("Google API key", ["AIza"], #"\b(AIza[0-9A-Za-z_\-]{35})\b"#, 1, false),
        ("Aliyun AccessKey ID", ["LTAI"], #"\b(LTAI[0-9A-Za-z]{12,20})\b"#, 1, false),
        ("Tencent Cloud SecretId", ["AKID"], #"\b(AKID[0-9A-Za-z]{32})\b"#, 1, false),
        ("Azure storage account key", ["AccountKey="], #"AccountKey=([0-9A-Za-z+/]{86}==)"#, 1, false),
        ("GitHub token", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], #"\b(gh[pousr]_[0-9A-Za-z]{36})\b"#, 1, false),
        ("Slack token", ["xox"], #"\b(xox[abprs]-[0-9A-Za-z\-]{10,72})\b"#, 1, false),
        ("private key in a JSON credential", ["private_key"], #""private_key"\s*:\s*"(-----BEGIN[^"]{40,})""#, 1, false),
        ("Wi-Fi passphrase (hostapd)", ["wpa_passphrase"], #"^\s*wpa_passphrase\s*=\s*(\S.{6,62}?)\s*$"#, 1, true),
        ("Wi-Fi PSK (wpa_supplicant)", ["psk"], #"^\s*psk\s*=\s*"([^"]{8,63})""#, 1, true),
    ]

    /// Patterns whose match can end far after the literal (a PEM key inside JSON).
    static let longReach = ["private key in a JSON credential": 16 << 10]

    /// Every generic assignment's key contains one of these (case-insensitive). A PCRE2 JIT
    /// alternation: LiteralSet is slower here (the words' first two letters are common in text).
    static let keywords = "(?i)pass|pwd|secret|token|key"

    static let generic = #"(?i)(?:^|[\s,{;"'])["']?((?:[a-z0-9_.\-]*[_.\-])?(?:password|passwd|pwd|passphrase|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|client[_\-]?secret))["']?\s*(?:=|:|=>)\s*["']?([^\s"',;<>]{6,128})"#

    /// Values that are not secrets: empty, placeholders, variables, format strings, masks.
    static let placeholders: Set<String> = [
        "password", "passwd", "secret", "changeme", "change_me", "yourpassword", "your_password", "mypassword", "example",
        "xxxxxx", "xxxxxxxx", "********", "******", "123456", "none", "null", "nil", "true", "false", "undefined", "default",
        "username", "user:pass", "pass", "test", "testing", "dummy", "placeholder", "required", "optional", "string",
    ]

    let paths: [Glob]
    let exclude: [Glob]
    let configPaths: [Glob]
    let minimumEntropy: Double
    let patterns: [Pattern]
    let genericPattern: Regex
    /// Every pattern's literals, found in one pass over a file (every occurrence, overlapping
    /// ones too): which patterns can match, and where.
    let literalScan: LiteralSet
    let keywordScan: KeywordScan

    /// Whole-tree by default (every text file): started among the first.
    public var costHint: Int { paths.contains(where: \.selectsEverything) ? Engine.wholeTreeCost : 1 }

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["**"], key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? ["proc/**", "sys/**", "dev/**", "usr/share/doc/**", "usr/share/man/**",
                                                                "usr/share/locale/**", "usr/share/i18n/**", "usr/share/common-licenses/**",
                                                                "usr/include/**", "**/*.pem", "**/*.crt",
                                                                "var/lib/apt/lists/**", "var/cache/apt/**"], key: "exclude")
        configPaths = try PathPatterns.compile(options.configPaths ?? ["etc/**", "**/*.{conf,cfg,ini,json,xml,yaml,yml,env,properties,txt}",
                                                                       "**/config/**", "mnt/**", "opt/**", "www/**", "var/**"],
                                               key: "configPaths")
        minimumEntropy = options.minimumEntropy ?? 3.0
        let literals = LiteralSet(Set(Self.specific.flatMap(\.1)).sorted())
        let position = Dictionary(uniqueKeysWithValues: literals.bytes.enumerated().map { ($1, $0) })
        do {
            patterns = try Self.specific.map {
                let bytes = $0.1.map { Array($0.utf8) }
                return Pattern(kind: $0.0, literals: bytes, regex: try Regex($0.2), group: $0.3 - 1, filtered: $0.4,
                               reach: Self.longReach[$0.0] ?? 512, literalIndices: bytes.compactMap { position[$0] })
            }
            genericPattern = try Regex(Self.generic)
            keywordScan = try KeywordScan()
        } catch {
            throw CheckOptionError(key: "paths", "\(error)")
        }
        literalScan = literals
    }

    /// One secret found in a file: its kind, its value and the line it starts on. A file's hits
    /// come one per value, specific patterns first (they name a value better than the generic one).
    struct Hit: Sendable {
        var kind: String
        var value: String
        var line: Int
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        // Config-ness by position (a set of the config files' paths took 12 MB for an image's
        // 80,000).
        let configFiles = context.filePositions(matching: configPaths)
        // The pass's answers, read through one view each (not a lock and a table per file).
        let plainAnalysis = context.analysis(analysisID(config: false)), configAnalysis = context.analysis(analysisID(config: true))
        let selection = context.files(matching: paths, excluding: exclude)
        for (file, position) in zip(selection, selection.indexPositions) where file.size > 0 && file.size < 1 << 20 {
            let config = configFiles.contains(position)
            let found: [Hit]
            if let analysed = (config ? configAnalysis : plainAnalysis)(file) as? [Hit] {
                found = analysed
            } else {
                guard let content = context.readUnlessBinary(file) else { continue }
                found = hits(in: content.bytes, config: config)
            }
            // The identity: a keyed digest of the value with the user's key, else the value's
            // rank among this kind in the file (never a plain digest, which a word list reverses).
            var occurrences: [String: Int] = [:]
            for hit in found {
                occurrences[hit.kind, default: 0] += 1
                let identity = context.limits.secrets.identity(hit.value) ?? "#\(occurrences[hit.kind]!)"
                observations.append(Observation(
                    message: "\(hit.kind) in \(file.path): \(Mask.secret(hit.value))",
                    location: Location(path: file.path, line: hit.line),
                    evidence: Evidence(key: "secret:" + hit.kind + ":" + identity, snippet: Mask.secret(hit.value), facts: ["kind": hit.kind])))
            }
        }
        return observations
    }

    /// The read-ahead pass runs the search on every text file of the selection while it holds
    /// it (a firmware image's text is far larger than the content cache): one analysis for the
    /// config-like files (generic assignments too), one for the others.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware else { return ContentInterests() }
        guard let entries = context.tree?.index.entries else { return ContentInterests() }
        let configFiles = Set(context.filePositions(matching: configPaths))
        let selected = context.filePositions(matching: paths, excluding: exclude).filter { entries[$0].size > 0 && entries[$0].size < 1 << 20 }
        var interests = ContentInterests()
        interests.add(analysis(config: false), positions: selected.lazy.filter { !configFiles.contains($0) })
        interests.add(analysis(config: true), positions: selected.lazy.filter { configFiles.contains($0) })
        return interests
    }

    private func analysis(config: Bool) -> ContentAnalysis {
        ContentAnalysis(id: analysisID(config: config), binaries: false, nothing: [Hit](), isNothing: { $0.isEmpty }) { [self] bytes in
            hits(in: bytes, config: config)
        }
    }

    /// Named by what decides the hits: the shipped patterns, the entropy floor and config-ness.
    func analysisID(config: Bool) -> String {
        "secrets.credentials:\(minimumEntropy):" + (config ? "config" : "plain")
    }

    /// The secrets in a text file's bytes; generic assignments only when `config`.
    func hits(in bytes: [UInt8], config: Bool) -> [Hit] {
        var found: [Hit] = []
        var seen = Set<String>()
        var lines: LineIndex?
        func report(_ kind: String, _ value: String, at offset: Int) {
            // One hit per value: a specific pattern (run first) names it better than the generic one.
            guard seen.insert(value).inserted else { return }
            if lines == nil { lines = LineIndex(bytes) }
            found.append(Hit(kind: kind, value: value, line: lines!.line(atOffset: offset)))
        }
        // The literals' offsets (one pass), then each pattern only around its literals.
        let scanStart = Profiler.threadCPU()
        let literalHits = literalScan.occurrences(in: bytes, limit: 4096)
        Profiler.consumed("secrets.credentials literal scan", bytes: bytes.count, seconds: Profiler.threadCPU() - scanStart)
        let complete = literalHits.count < 4096
        // Most files hold no literal at all; the others few: offsets by literal position.
        var offsets = [[Int]](repeating: [], count: literalHits.isEmpty ? 0 : literalScan.bytes.count)
        for hit in literalHits { offsets[hit.name].append(hit.offset) }
        for pattern in patterns where !literalHits.isEmpty {
            var near: [Int] = []
            for index in pattern.literalIndices { near += offsets[index] }
            guard !near.isEmpty else { continue }
            near.sort()
            let windows = complete ? SearchWindows.around( near, in: bytes.count, before: 256, after: pattern.reach) : [0..<bytes.count]
            for window in windows {
                for match in pattern.regex.matches(in: bytes, within: window, limit: 64) {
                    guard pattern.group < match.groups.count, let range = match.groups[pattern.group] else { continue }
                    let value = String(decoding: bytes[range], as: UTF8.self)
                    if pattern.filtered, Self.isPlaceholder(value) { continue }
                    if pattern.kind == "URL credentials", let userRange = match.groups[0],
                       Self.isPlaceholder(String(decoding: bytes[userRange], as: UTF8.self)) && value.count < 8 { continue }
                    report(pattern.kind, value, at: range.lowerBound)
                }
            }
        }
        // Generic assignments count only in config-like files (a path test, far cheaper
        // than the case-insensitive pattern), and are looked for only around a key word.
        guard config else { return found }
        let wordStart = Profiler.threadCPU()
        let words = keywordScan.starts(in: bytes, limit: 4096)
        Profiler.consumed("secrets.credentials keyword scan", bytes: bytes.count, seconds: Profiler.threadCPU() - wordStart)
        guard !words.isEmpty else { return found }
        var windows = words.count < 4096
            ? SearchWindows.around(words, in: bytes.count, before: 128, after: 256) : [0..<bytes.count]
        if words.count < 4096 {
            // Every match holds a key word whose name is followed by an assignment: the windows
            // without one (prose that mentions a key or a password) hold no match.
            let assigned = words.filter { Self.assignmentFollows(bytes, nameAt: $0) }
            var next = 0
            windows = windows.filter { window in
                while next < assigned.count, assigned[next] < window.lowerBound { next += 1 }
                return next < assigned.count && window.contains(assigned[next])
            }
        }
        for window in windows {
            for match in genericPattern.matches(in: bytes, within: window, limit: 256) {
                guard match.groups.count > 1, let keyRange = match.groups[0], let valueRange = match.groups[1] else { continue }
                let value = String(decoding: bytes[valueRange], as: UTF8.self)
                guard !Self.isPlaceholder(value), Self.looksRandom(value, minimumEntropy: minimumEntropy) else { continue }
                let key = String(decoding: bytes[keyRange], as: UTF8.self)
                report("hard-coded \(key)", value, at: keyRange.lowerBound)
            }
        }
        return found
    }

    /// Whether the name holding the key word at `start` is followed, as `generic` requires, by
    /// an optional quote, blanks and `=` or `:`. The name runs over what the pattern's key may
    /// hold (letters, digits, `_`, `.`, `-`) and over any non-ASCII byte (PCRE2's UTF folding
    /// puts U+212A and U+017F in `[a-z]`): a match's key ends where its name does, since the
    /// pattern wants a quote, a blank, `=` or `:` right after it.
    static func assignmentFollows(_ bytes: [UInt8], nameAt start: Int) -> Bool {
        var i = start
        while i < bytes.count {
            let b = bytes[i]
            let inName = b >= 0x80 || (b >= 48 && b <= 57) || (b | 0x20 >= 97 && b | 0x20 <= 122) || b == 95 || b == 46 || b == 45
            guard inName else { break }
            i += 1
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") { i += 1 }
        while i < bytes.count, bytes[i] == 32 || (bytes[i] >= 9 && bytes[i] <= 13) { i += 1 }
        return i < bytes.count && (bytes[i] == UInt8(ascii: "=") || bytes[i] == UInt8(ascii: ":"))
    }

    /// A value that is a variable, a template, a placeholder word or a mask rather than a secret.
    static func isPlaceholder(_ raw: String) -> Bool {
        let value = raw.trimmingCharacters(in: "\"'")
        let lower = value.lowercased()
        if value.isEmpty || placeholders.contains(lower) { return true }
        // Byte searches: Foundation's String.contains goes through NSString (a profile's 0.6%).
        if value.hasPrefix("$") || ["${", "$(", "%s", "%(", "{{"].contains(where: { ByteSearch.contains(value, $0) })
            || value.hasPrefix("<") || value.hasPrefix("@") || value.hasPrefix("`") { return true }
        if Set(value).count <= 2 { return true }                       // ******, xxxxxx, 000000
        if ["your", "example", "changeme", "placeholder", "dummy", "redacted", "replace"].contains(where: { ByteSearch.contains(lower, $0) }) { return true }
        return false
    }

    /// Shannon entropy per character at least `minimumEntropy`, and at least two character classes.
    static func looksRandom(_ value: String, minimumEntropy: Double) -> Bool {
        let characters = Array(value)
        guard characters.count >= 8 else { return false }
        var counts: [Character: Int] = [:]
        for c in characters { counts[c, default: 0] += 1 }
        var entropy = 0.0
        for count in counts.values {
            let p = Double(count) / Double(characters.count)
            entropy -= p * log2(p)
        }
        let classes = [characters.contains { $0.isLowercase }, characters.contains { $0.isUppercase },
                       characters.contains { $0.isNumber }, characters.contains { !$0.isLetter && !$0.isNumber }].filter { $0 }.count
        return entropy >= minimumEntropy && classes >= 2
    }
}
