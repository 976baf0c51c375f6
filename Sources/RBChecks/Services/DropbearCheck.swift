import RBCore

/// `ssh.dropbear`: Dropbear's start-up arguments in the boot files (and OpenWrt's
/// /etc/config/dropbear): `-B` allows blank passwords (critical); without `-w` (no root login),
/// `-g` (no root password login) or `-s` (no password login), root may log in with its password,
/// which matters when root has a usable hash.
public struct DropbearCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
    }

    public static let id = "ssh.dropbear"
    public static let summary = "Judges Dropbear's start-up arguments: blank passwords, root password login."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let paths: [Glob]
    let accounts: AccountSource

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["etc/inittab", "etc/init.d/*", "etc/rc.d/**", "etc/rc*.d/*", "etc/rcS*",
                                                            "etc/rc.local", "etc/default/dropbear", "**/systemd/system/*.service"],
                                         key: "paths")
        accounts = try AccountSource(extraFiles: nil)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        // The dropbear command (a bare name or a path to the binary) and its arguments, or an
        // /etc/default/dropbear argument variable.
        guard let start = try? Regex(#"(?<=^|[\s;&|"'=])(\S*/)?dropbear(?=[\s"']|$)([^\n;&|]*)|DROPBEAR_(?:EXTRA_)?ARGS\s*=\s*["']?([^"'\n]*)"#) else { return [] }
        var observations: [Observation] = []
        var starts: [(path: String, line: Int, flags: Set<Character>, text: String)] = []
        for file in context.files(matching: paths) {
            guard var bytes = context.readUnlessBinary(file)?.bytes else { continue }
            CommentBlanker.blank(&bytes, markers: [Array("#".utf8)])
            let lines = LineIndex(bytes)
            for match in start.matches(in: bytes) {
                // /etc/dropbear, /var/run/dropbear…: a directory, not the program.
                if let prefix = match.groups[0].map({ String(decoding: bytes[$0], as: UTF8.self) }),
                   ["/etc/", "/var/", "/tmp/", "/root/", "/home/", "/run/"].contains(where: { prefix.hasPrefix($0) }) { continue }
                let text = String(decoding: bytes[match.range], as: UTF8.self)
                var flags = Set<Character>()
                for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" }) where token.hasPrefix("-") && !token.hasPrefix("--") {
                    for flag in token.dropFirst() where flag.isLetter { flags.insert(flag) }
                }
                let line = lines.line(atOffset: match.range.lowerBound)
                starts.append((file.path, line, flags, lines.text(ofLine: line, in: bytes)))
            }
        }
        // OpenWrt keeps the settings in UCI; its init script turns them into the same flags.
        if let globs = try? PathPatterns.compile(["etc/config/dropbear"], key: "paths"),
           let uci = context.files(matching: globs).first, let text = context.readText(uci) {
            var flags = Set<Character>()
            for pair in KeyValueCheck.parse(text, format: .space, comments: ["#"]) where pair.key == "option" {
                let parts = pair.value.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: "'\"") }
                guard parts.count == 2 else { continue }
                let off = ["off", "0", "false", "no"].contains(parts[1].lowercased())
                if parts[0] == "RootPasswordAuth" && off { flags.insert("g") }
                if parts[0] == "PasswordAuth" && off { flags.insert("s") }
                if parts[0] == "RootLogin" && off { flags.insert("w") }
            }
            starts.append((uci.path, 1, flags, "etc/config/dropbear"))
        }
        guard !starts.isEmpty else { return [] }
        let rootHasPassword = accounts.accounts(in: context).contains { $0.name == "root" && ($0.hash.isUsable || $0.hash.kind == .empty) }
        for start in starts {
            if start.flags.contains("B") {
                observations.append(Observation(
                    severity: .critical, message: "dropbear allows blank password logins (-B): \(Snippet.make(start.text))",
                    location: Location(path: start.path, line: start.line),
                    evidence: Evidence(key: "dropbear -B", snippet: Snippet.make(start.text))))
            }
            if rootHasPassword, start.flags.isDisjoint(with: ["w", "g", "s"]) {
                observations.append(Observation(
                    message: "dropbear lets root log in with its password (no -w, -g or -s): \(Snippet.make(start.text))",
                    location: Location(path: start.path, line: start.line),
                    evidence: Evidence(key: "dropbear root password", snippet: Snippet.make(start.text))))
            }
        }
        return observations
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
