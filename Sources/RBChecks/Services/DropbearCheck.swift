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
    /// A config target is OpenWrt's /etc/config/dropbear on its own (its name `dropbear`).
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

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
        // OpenWrt's procd service (`USE_PROCD=1`), and before procd its rc.common script that
        // `config_load`s (Backfire/Attitude Adjustment: `service_start ${PROG} ${args}`), build
        // dropbear's command line from UCI: their lines naming dropbear (`PROG=/usr/sbin/dropbear`,
        // `config_foreach … dropbear`) are not start commands; /etc/config/dropbear says what runs.
        var procdScript: (path: String, line: Int, text: String)?
        // A config target is the UCI file alone (its name would match etc/default/dropbear).
        for file in context.kind == .config ? FileSelection() : context.files(matching: paths) {
            guard var bytes = context.readUnlessBinary(file)?.bytes else { continue }
            let readsUCI = DropbearCheck.readsUCI(bytes)
            CommentBlanker.blank(&bytes, markers: [Array("#".utf8)])
            let lines = LineIndex(bytes)
            if readsUCI {
                if procdScript == nil, start.matches(in: bytes).first != nil {
                    let command = ByteSearch.firstIndex(of: Array("procd_set_param command".utf8), in: bytes)
                    let line = command.map { lines.line(atOffset: $0) } ?? 1
                    procdScript = (file.path, line, lines.text(ofLine: line, in: bytes))
                }
                continue
            }
            for match in start.matches(in: bytes) {
                // /etc/dropbear, /var/run/dropbear…: a directory, not the program.
                if let prefix = match.groups[0].map({ String(decoding: bytes[$0], as: UTF8.self) }),
                   ["/etc/", "/var/", "/tmp/", "/root/", "/home/", "/run/"].contains(where: { prefix.hasPrefix($0) }) { continue }
                let line = lines.line(atOffset: match.range.lowerBound)
                let lineText = lines.text(ofLine: line, in: bytes)
                guard DropbearCheck.mayStart(lineText) else { continue }
                let text = String(decoding: bytes[match.range], as: UTF8.self)
                var flags = Set<Character>()
                for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" }) where token.hasPrefix("-") && !token.hasPrefix("--") {
                    for flag in token.dropFirst() where flag.isLetter { flags.insert(flag) }
                }
                starts.append((file.path, line, flags, lineText))
            }
            // `DAEMON=/usr/sbin/dropbear` … `start-stop-daemon --exec $DAEMON -- -p 22`: the start
            // is the line that runs the variable, with the arguments after it.
            let text = String(decoding: bytes, as: UTF8.self)
            for variable in DropbearCheck.programVariables(in: text) {
                for (index, raw) in text.splitLines().enumerated() {
                    let line = String(raw)
                    guard DropbearCheck.mayStart(line), !line.contains(variable + "="),
                          let use = line.range(of: "${" + variable + "}") ?? line.range(of: "$" + variable) else { continue }
                    if use.upperBound < line.endIndex, line[use.upperBound].isLetter || line[use.upperBound].isNumber || line[use.upperBound] == "_" { continue }
                    var flags = Set<Character>()
                    for token in line[use.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" })
                    where token.hasPrefix("-") && !token.hasPrefix("--") {
                        for flag in token.dropFirst() where flag.isLetter { flags.insert(flag) }
                    }
                    starts.append((file.path, index + 1, flags, line))
                }
            }
        }
        // A start line passing `$DROPBEAR_EXTRA_ARGS` (Debian's init script) takes the flags that
        // /etc/default/dropbear sets there.
        let argumentFlags = starts.filter { $0.text.contains("DROPBEAR_") && $0.text.contains("ARGS=") }.reduce(into: Set<Character>()) { $0.formUnion($1.flags) }
        for i in starts.indices where starts[i].text.contains("$DROPBEAR_") || starts[i].text.contains("${DROPBEAR_") {
            starts[i].flags.formUnion(argumentFlags)
        }
        // OpenWrt keeps the settings in UCI, one instance per enabled `config dropbear` section;
        // its init script turns them into the same flags (PasswordAuth, RootPasswordAuth and
        // RootLogin default to on).
        if let globs = try? PathPatterns.compile([context.kind == .config ? "dropbear" : "etc/config/dropbear"], key: "paths"),
           let uci = context.files(matching: globs).first, let text = context.readText(uci) {
            for section in UCIFile(text).sections(ofType: "dropbear") where section.bool("enable", default: true) {
                var flags = Set<Character>()
                if !section.bool("PasswordAuth", default: true) { flags.insert("s") }
                if !section.bool("RootPasswordAuth", default: true) { flags.insert("g") }
                if !section.bool("RootLogin", default: true) { flags.insert("w") }
                let at = section.option("RootPasswordAuth") ?? section.option("PasswordAuth")
                let line = at?.line ?? section.line
                starts.append((uci.path, line, flags, text.splitLines()
                    .dropFirst(line - 1).first.map(String.init) ?? "config dropbear"))
            }
        } else if let procdScript {
            // A procd service with no UCI config runs with the defaults: password logins on.
            starts.append((procdScript.path, procdScript.line, [], procdScript.text + " (no /etc/config/dropbear: password logins on by default)"))
        }
        guard !starts.isEmpty else { return [] }
        if context.kind == .config { for start in starts { context.understood(start.path) } }
        // A UCI file on its own does not say whether root has a password: it permits the login.
        let rootHasPassword = context.kind == .config
            || accounts.accounts(in: context).contains { $0.name == "root" && ($0.hash.isUsable || $0.hash.kind == .empty) }
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

extension DropbearCheck {
    /// Whether a line naming dropbear can start it: not an assignment of the bare program to a
    /// variable (`PROG=/usr/sbin/dropbear`, `NAME=dropbear`: the start is the line using it), not
    /// an argument of a command that only finds, stops, logs or configures it.
    /// Variables a script assigns the dropbear program to (`DAEMON=/usr/sbin/dropbear`; not
    /// `NAME=dropbear`, which names pid files and messages).
    static func programVariables(in text: String) -> [String] {
        var names: [String] = []
        for raw in text.splitLines(omittingEmpty: true) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals]
            let value = line[line.index(after: equals)...].trimmingCharacters(in: "\"' ")
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                  value.hasPrefix("/"), value.hasSuffix("/dropbear"), !names.contains(String(name)) else { continue }
            names.append(String(name))
        }
        return names
    }

    /// Whether an init script builds its command lines from UCI: a procd service, or an
    /// rc.common script that loads a UCI package.
    static func readsUCI(_ bytes: [UInt8]) -> Bool {
        if ByteSearch.firstIndex(of: Array("USE_PROCD=1".utf8), in: bytes) != nil { return true }
        return bytes.starts(with: Array("#!/bin/sh /etc/rc.common".utf8))
            && ByteSearch.firstIndex(of: Array("config_load".utf8), in: bytes) != nil
    }

    static func mayStart(_ line: String) -> Bool {
        var trimmed = line.drop { $0 == " " || $0 == "\t" }
        // Environment assignments before the command (`SERVICE_PID_FILE="$pid_file" service_stop …`)
        // are skipped as the boot model skips them; a bare assignment (`PROG=/usr/sbin/dropbear`)
        // is judged below.
        let words = BootServices.Builder.words(String(trimmed))
        if let command = words.firstIndex(where: { !BootServices.Builder.isAssignment($0) }), command > 0 {
            trimmed = Substring(words[command...].joined(separator: " "))
        }
        // A `case` arm's pattern (`stop)`) is not the command.
        if let close = trimmed.firstIndex(of: ")"), !trimmed[..<close].contains(" "), !trimmed[..<close].contains("(") {
            trimmed = trimmed[trimmed.index(after: close)...].drop { $0 == " " || $0 == "\t" }
        }
        if let equals = trimmed.firstIndex(of: "="), trimmed[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
           !trimmed[..<equals].isEmpty, !trimmed[..<equals].hasPrefix("DROPBEAR_") {
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: "\"' ")
            if !value.contains(" ") { return false }
        }
        let first = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
        let helpers: Set<String> = ["killall", "pidof", "pgrep", "pkill", "grep", "logger", "echo", "printf", "config_foreach",
                                    "config_load", "config_get", "config_get_bool", "config_list_foreach", "uci", "uci_load_validate",
                                    "uci_get", "local", "append", "[", "test", "rm", "touch", "chown", "chmod", "mkdir", "cat", "ln",
                                    "service_stop", "service_check", "kill"]
        if helpers.contains(first) || first.hasPrefix("procd_add_") { return false }
        return true
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
