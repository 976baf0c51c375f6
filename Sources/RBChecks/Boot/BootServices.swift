import RBCore

/// One command the image runs at boot: the program (its base name; BusyBox applets and
/// start-stop-daemon's `--exec` unwrapped), the command text, where it is (file and line), how it
/// was reached, and whether it only runs under a condition (`if`, `case`, `&&`, `||`, a
/// disabled xinetd service is left out altogether).
public struct BootStart: Sendable, Equatable {
    public var program: String
    public var command: String
    public var path: String
    public var line: Int
    /// `inittab`, `script`, `inetd`, `xinetd`, `systemd`, `procd`, `cron`.
    public var via: String
    /// The condition it depends on (`if [ -f /etc/debug ]`), nil when unconditional.
    public var condition: String?
    /// The files followed from the entry point to this one (`etc/inittab`, `etc/init.d/rcS`, …).
    public var chain: [String]
    /// A systemd unit's `User=` (nil: not set, or not a unit).
    public var user: String? = nil
    /// The program as written when it is a path (`/usr/sbin/boa`), for rules that read it.
    public var executable: String? = nil
}

/// The boot-time service model of a firmware tree: what starts at boot, read from BusyBox and
/// sysvinit inittab, rcS / init.d / rc.d scripts (followed to depth 3, `S??*` loops, `run-parts`
/// and `. file` included), inetd and xinetd, enabled systemd units, OpenWrt procd init scripts
/// enabled in /etc/rc.d, and crontabs. Built once per target and shared by the rules.
public struct BootServices: Sendable {
    public var starts: [BootStart]

    static let maxDepth = 3

    public static func of(_ context: CheckContext) -> BootServices {
        context.target.models.value("boot-services") { BootServices(context: context) }
    }

    init(context: CheckContext) {
        var builder = Builder(context: context)
        builder.build()
        starts = builder.starts
    }

    struct Builder {
        let context: CheckContext
        var starts: [BootStart] = []
        var visited = Set<String>()

        init(context: CheckContext) { self.context = context }

        mutating func build() {
            guard let tree = context.tree else { return }
            // inittab (BusyBox and sysvinit). BusyBox without an inittab runs /etc/init.d/rcS.
            if let inittab = tree.resolve("etc/inittab"), inittab.type == .file {
                readInittab(inittab)
            } else if let rcS = tree.resolve("etc/init.d/rcS"), rcS.type == .file {
                follow(rcS, chain: [], depth: 1, condition: nil)
            }
            // sysvinit runlevel links and OpenWrt's enabled services (/etc/rc.d/S??name).
            for pattern in ["etc/rcS.d/S*", "etc/rc2.d/S*", "etc/rc3.d/S*", "etc/rc5.d/S*", "etc/rc.d/S*", "etc/rc.d/rc3.d/S*"] {
                for entry in entries(pattern) {
                    guard let script = tree.resolve(entry.path), script.type == .file else { continue }
                    follow(script, chain: [entry.path], depth: 1, condition: nil)
                }
            }
            if let local = tree.resolve("etc/rc.local"), local.type == .file { follow(local, chain: [], depth: 1, condition: nil) }
            // No init entry point found (a partial root, a vendor init binary): every init.d
            // script counts as started rather than none.
            if visited.isEmpty, tree.resolve("lib/systemd/systemd") == nil, tree.resolve("usr/lib/systemd/systemd") == nil {
                for entry in entries("etc/init.d/*") {
                    guard let script = tree.resolve(entry.path), script.type == .file else { continue }
                    follow(script, chain: [], depth: 1, condition: nil)
                }
            }
            for file in files(["etc/inetd.conf"]) { readInetd(file) }
            for file in files(["etc/xinetd.d/*", "etc/xinetd.conf"]) { readXinetd(file) }
            readSystemd()
            for file in files(["etc/crontab", "etc/cron.d/*", "etc/crontabs/*", "var/spool/cron/crontabs/*", "var/spool/cron/*"]) {
                readCron(file, systemWide: file.path == "etc/crontab" || file.path.hasPrefix("etc/cron.d/"))
            }
            starts.sort { ($0.path, $0.line, $0.program) < ($1.path, $1.line, $1.program) }
        }

        func files(_ patterns: [String]) -> [FileEntry] {
            guard let globs = try? PathPatterns.compile(patterns, key: "paths") else { return [] }
            return Array(context.files(matching: globs))
        }

        func entries(_ pattern: String) -> [FileEntry] {
            guard let tree = context.tree, let glob = try? Glob(pattern) else { return [] }
            return tree.index.entries(matching: [glob]).sorted { $0.path < $1.path }
        }

        func lines(_ file: FileEntry) -> [String] {
            guard let text = context.readText(file) else { return [] }
            return TextLines(text).lines.map(String.init)
        }

        mutating func add(_ program: String, _ command: String, _ file: FileEntry, _ line: Int, via: String, condition: String?, chain: [String]) {
            let name = program.split(separator: "/").last.map(String.init) ?? program
            guard !name.isEmpty else { return }
            starts.append(BootStart(program: name, command: String(command.trimmingWhitespace().prefix(300)), path: file.path, line: line,
                                    via: via, condition: condition, chain: chain + [file.path],
                                    executable: program.hasPrefix("/") ? program : nil))
        }

        /// The sections of `/etc/config/<package>` (nil when the image has no such file).
        func uciConfig(_ package: String) -> UCIFile? {
            guard package.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }),
                  let entry = context.tree?.resolve("etc/config/" + package), entry.type == .file,
                  let text = context.readText(entry) else { return nil }
            return UCIFile(text)
        }

        // MARK: inittab

        mutating func readInittab(_ file: FileEntry) {
            for (i, raw) in lines(file).enumerated() {
                let line = raw.trimmingWhitespace()
                guard !line.isEmpty, !line.hasPrefix("#") else { continue }
                let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
                guard fields.count == 4 else { continue }
                let action = fields[2].trimmingWhitespace()
                guard ["sysinit", "respawn", "once", "wait", "askfirst", "boot", "bootwait", "restart", "ctrlaltdel", "shutdown"].contains(String(action)),
                      !["ctrlaltdel", "shutdown", "restart"].contains(String(action)) else { continue }
                var process = String(fields[3].trimmingWhitespace())
                if process.hasPrefix("-") { process.removeFirst() }
                command(process, file: file, line: i + 1, via: "inittab", condition: nil, chain: [], depth: 0, variables: [:], loops: [:])
            }
        }

        // MARK: shell scripts

        /// Follows a script once (depth-limited), recording every command it runs.
        mutating func follow(_ file: FileEntry, chain: [String], depth: Int, condition: String?) {
            guard depth <= BootServices.maxDepth, visited.insert(file.path).inserted else { return }
            let text = lines(file)
            guard !text.isEmpty else { return }
            // OpenWrt procd scripts: the service is `procd_set_param command …` inside start_service.
            let procd = text.contains { $0.contains("USE_PROCD=1") }
            // procd services that read an `enabled` switch from their UCI config and return
            // before starting when it is off (miniupnpd: `config_load upnpd`, `config_get_bool
            // enabled config enabled 0`, `[ "$enabled" -eq 0 ] && return 1`).
            var gate = ProcdGate()
            var variables: [String: String] = [:]
            var loops: [String: [String]] = [:]
            // Open if/case blocks: the condition text, and for a case the branch being read.
            var blocks: [(text: String, isCase: Bool, branch: String?)] = []
            var previous: [String] = []        // the words of the command before this one
            var logical = ""
            var startLine = 0
            for (i, raw) in text.enumerated() {
                if logical.isEmpty { startLine = i + 1 }
                if raw.hasSuffix("\\") {
                    logical += raw.dropLast() + " "
                    continue
                }
                logical += raw
                let line = Self.stripComment(logical).trimmingWhitespace()
                logical = ""
                guard !line.isEmpty else { continue }
                if procd, gate.read(String(line), line: i + 1, config: uciConfig) { continue }
                for segment in Self.split(String(line)) {
                    var segment = segment
                    // `then cmd`, `do cmd`, `else cmd`, `{ cmd`, `! cmd`: the command after the keyword.
                    while let keyword = Self.words(segment.text).first, ["then", "else", "do", "{", "!"].contains(keyword),
                          Self.words(segment.text).count > 1 {
                        segment.text = String(segment.text.trimmingWhitespace().dropFirst(keyword.count)).trimmingWhitespace().description
                    }
                    let words = Self.words(segment.text)
                    guard let first = words.first else { continue }
                    // A function definition line (`start() {`).
                    if first.hasSuffix("()") || (words.count > 1 && words[1].hasPrefix("()")) { continue }
                    defer { previous = words }
                    switch first {
                    case "if", "elif", "while", "until":
                        if first == "if" {
                            blocks.append((segment.text, false, nil))
                        } else if first == "elif", !blocks.isEmpty {
                            blocks[blocks.count - 1] = (segment.text, false, nil)
                        }
                        // `if cmd; then` runs cmd unconditionally; the rest of the words are a test.
                        continue
                    case "case":
                        blocks.append((segment.text, true, nil))
                        continue
                    case "fi", "esac":
                        if !blocks.isEmpty { blocks.removeLast() }
                        continue
                    case "then", "else", "do", "done", "{", "}", ";;", "in":
                        if words.count == 1 { continue }
                    case "for":
                        // for VAR in GLOB…; do — remember what the variable walks over.
                        if words.count >= 4, words[2] == "in" {
                            var values: [String] = []
                            for pattern in words.dropFirst(3) where pattern != "do" && pattern != ";" {
                                let bare = pattern.trimmingCharacters(in: "\"'")
                                if bare.contains("*") || bare.contains("?") {
                                    values += entries(Self.relative(bare)).map(\.path)
                                } else {
                                    values.append(Self.relative(bare))
                                }
                            }
                            loops[words[1]] = values
                        }
                        continue
                    default: break
                    }
                    // Variable assignment on its own (DAEMON=/usr/sbin/x).
                    if words.count == 1, let equals = first.firstIndex(of: "="), first.first?.isLetter == true {
                        variables[String(first[..<equals])] = String(first[first.index(after: equals)...]).trimmingCharacters(in: "\"'")
                        continue
                    }
                    // A case branch pattern (`start)` …): remember it; the command after it, if any.
                    var text = segment.text
                    if let paren = text.firstIndex(of: ")"), !text[..<paren].contains(" "), !text[..<paren].contains("("), first != "(" {
                        if let top = blocks.indices.last, blocks[top].isCase { blocks[top].branch = String(text[..<paren]) }
                        text = String(text[text.index(after: paren)...]).trimmingWhitespace().description
                        if text.isEmpty { continue }
                    }
                    if procd, text.hasPrefix("procd_set_param command ") {
                        // Switched off in its UCI config: the service returns before this line.
                        if gate.off != nil { continue }
                        let service = String(text.dropFirst("procd_set_param command ".count))
                        let program = Self.words(service).first.map { Self.substitute($0, variables) } ?? ""
                        add(program, service, file, startLine, via: "procd", condition: condition, chain: chain)
                        continue
                    }
                    let here = condition ?? Self.condition(of: segment, previous: previous, blocks: blocks, variables: variables)
                    command(text, file: file, line: startLine, via: "script", condition: here, chain: chain, depth: depth,
                            variables: variables, loops: loops)
                }
            }
        }

        /// Why a command may not run at boot, or nil. Not conditions: `[ -x X ] && X …` (start it
        /// if it is there), and the `start`/`boot`/`*` branch of an init script's `case "$1"`.
        static func condition(of segment: (text: String, conditional: Bool), previous: [String],
                              blocks: [(text: String, isCase: Bool, branch: String?)], variables: [String: String]) -> String? {
            let words = Self.words(segment.text).map { substitute($0, variables) }
            if segment.conditional {
                let tested = previous.map { substitute($0, variables) }
                let existence = (tested.first == "[" || tested.first == "test") && tested.count >= 3
                    && ["-x", "-f", "-e", "-s"].contains(tested[1]) && words.first == tested[2]
                if !existence { return "after \(previous.joined(separator: " ").prefix(80)) && / ||" }
            }
            for block in blocks.reversed() {
                if block.isCase, block.text.contains("$1") || block.text.contains("${1"),
                   let branch = block.branch?.lowercased(), branch.contains("start") || branch.contains("boot") || branch == "*" {
                    continue
                }
                return block.isCase ? "\(block.text.prefix(80)) \(block.branch ?? "")" : String(block.text.prefix(120))
            }
            return nil
        }

        /// Records one simple command and follows it when it runs another script of the image.
        mutating func command(_ text: String, file: FileEntry, line: Int, via: String, condition: String?, chain: [String], depth: Int,
                              variables: [String: String], loops: [String: [String]]) {
            var words = Self.words(text).map { Self.substitute($0, variables) }
            // Leading assignments and wrappers.
            while let first = words.first, Self.isAssignment(first) { words.removeFirst() }
            while let first = words.first, ["exec", "nohup", "setsid", "command", "builtin", "time"].contains(first) { words.removeFirst() }
            guard var program = words.first else { return }
            // Sourced and loop-driven scripts.
            if program == "." || program == "source", words.count > 1 {
                for path in expand(words[1], loops) { followPath(path, file: file, chain: chain, depth: depth, condition: condition) }
                return
            }
            if program == "run-parts", let directory = words.dropFirst().first(where: { !$0.hasPrefix("-") }) {
                for entry in entries(Self.relative(directory) + "/*") { followPath(entry.path, file: file, chain: chain, depth: depth, condition: condition) }
                return
            }
            if program.hasPrefix("$"), let values = loops[String(program.dropFirst().trimmingCharacters(in: "{}"))] {
                for path in values { followPath(path, file: file, chain: chain, depth: depth, condition: condition) }
                return
            }
            if (program == "sh" || program.hasSuffix("/sh") || program == "ash" || program.hasSuffix("/bash")), words.count > 1, !words[1].hasPrefix("-") {
                for path in expand(words[1], loops) { followPath(path, file: file, chain: chain, depth: depth, condition: condition) }
                return
            }
            // start-stop-daemon -S -x /usr/sbin/vsftpd / --exec / --startas.
            if program.hasSuffix("start-stop-daemon") {
                if let i = words.firstIndex(where: { ["-x", "--exec", "-a", "--startas"].contains($0) }), i + 1 < words.count {
                    program = words[i + 1]
                } else if let inline = words.first(where: { $0.hasPrefix("--exec=") }) {
                    program = String(inline.dropFirst(7))
                }
            }
            // OpenWrt's rc.common before procd: `service_start /sbin/syslogd $args` wraps
            // start-stop-daemon (`service_stop` and `service_check` start nothing).
            if program == "service_start", words.count > 1 {
                program = words[1]
                words.removeFirst()
            } else if program == "service_stop" || program == "service_check" {
                return
            }
            // busybox APPLET …
            if program == "busybox" || program.hasSuffix("/busybox"), words.count > 1 {
                program = words[1]
                words.removeFirst()
            }
            // tcpsvd/udpsvd [options] IP PORT PROG …: the program served.
            let base = program.split(separator: "/").last.map(String.init) ?? program
            if base == "tcpsvd" || base == "udpsvd" {
                var operands: [String] = []
                var i = 1
                while i < words.count, operands.count < 3 {
                    if words[i].hasPrefix("-") {
                        if ["-c", "-C", "-u", "-l", "-b"].contains(words[i]) { i += 1 }
                    } else {
                        operands.append(words[i])
                    }
                    i += 1
                }
                if operands.count == 3 { program = operands[2] }
            }
            add(program, text, file, line, via: via, condition: condition, chain: chain)
            // A script of the image started directly (/etc/init.d/S50x start).
            if program.hasPrefix("/") || program.hasPrefix("etc/") {
                followPath(Self.relative(program), file: file, chain: chain, depth: depth, condition: condition)
            }
        }

        func expand(_ word: String, _ loops: [String: [String]]) -> [String] {
            let bare = word.trimmingCharacters(in: "\"'")
            if bare.hasPrefix("$"), let values = loops[String(bare.dropFirst().trimmingCharacters(in: "{}"))] { return values }
            if bare.contains("*") { return entries(Self.relative(bare)).map(\.path) }
            return [Self.relative(bare)]
        }

        mutating func followPath(_ path: String, file: FileEntry, chain: [String], depth: Int, condition: String?) {
            guard let tree = context.tree, let target = tree.resolve(path), target.type == .file, target.size < 1 << 20 else { return }
            // Only scripts: text starting with #! or a shell-looking file under etc/.
            guard let content = context.readUnlessBinary(target) else { return }
            let isScript = content.bytes.starts(with: Array("#!".utf8)) || target.path.hasPrefix("etc/")
            guard isScript else { return }
            follow(target, chain: chain + [file.path], depth: depth + 1, condition: condition)
        }

        // MARK: inetd, xinetd

        mutating func readInetd(_ file: FileEntry) {
            for (i, raw) in lines(file).enumerated() {
                let line = raw.trimmingWhitespace()
                guard !line.isEmpty, !line.hasPrefix("#") else { continue }
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard fields.count >= 6 else { continue }
                var program = fields[5]
                // tcpd / busybox wrap the real server: it is the next word.
                if (program.hasSuffix("tcpd") || program.hasSuffix("busybox")), fields.count > 6 { program = fields[6] }
                add(program, line.description, file, i + 1, via: "inetd", condition: nil, chain: [])
            }
        }

        mutating func readXinetd(_ file: FileEntry) {
            var service: (name: String, line: Int)?
            var server: String?
            var disabled = false
            for (i, raw) in lines(file).enumerated() {
                let line = raw.trimmingWhitespace()
                if line.hasPrefix("service ") {
                    service = (String(line.dropFirst(8)).trimmingWhitespace().description, i + 1)
                    server = nil
                    disabled = false
                } else if line.hasPrefix("}"), let current = service {
                    if !disabled { add(server ?? current.name, "service \(current.name)", file, current.line, via: "xinetd", condition: nil, chain: []) }
                    service = nil
                } else if let equals = line.firstIndex(of: "=") {
                    let key = line[..<equals].trimmingWhitespace().lowercased()
                    let value = line[line.index(after: equals)...].trimmingWhitespace()
                    if key == "disable" { disabled = value.lowercased() == "yes" }
                    if key == "server" { server = String(value) }
                }
            }
        }

        // MARK: systemd

        mutating func readSystemd() {
            guard let tree = context.tree else { return }
            // Enabled: linked from a *.wants directory of /etc or the vendor unit directories.
            var enabled: [(unit: FileEntry, link: String)] = []
            for pattern in ["etc/systemd/system/*.wants/*.service", "lib/systemd/system/*.wants/*.service",
                            "usr/lib/systemd/system/*.wants/*.service", "etc/systemd/system/*.wants/*.socket"] {
                for entry in entries(pattern) {
                    if let unit = tree.resolve(entry.path), unit.type == .file { enabled.append((unit, entry.path)) }
                }
            }
            // On a systemd image the journal is a static unit pulled in by sysinit.target.
            if tree.resolve("lib/systemd/systemd") != nil || tree.resolve("usr/lib/systemd/systemd") != nil {
                for path in ["lib/systemd/system/systemd-journald.service", "usr/lib/systemd/system/systemd-journald.service"] {
                    if let unit = tree.resolve(path), unit.type == .file { enabled.append((unit, "sysinit.target")) }
                }
            }
            var seen = Set<String>()
            for (unit, link) in enabled where seen.insert(unit.path).inserted {
                let unitLines = lines(unit)
                let user = unitLines.map { $0.trimmingWhitespace() }.first { $0.hasPrefix("User=") }.map { String($0.dropFirst(5)).trimmingWhitespace().description }
                let before = starts.count
                defer { for i in before..<starts.count { starts[i].user = user } }
                for (i, raw) in unitLines.enumerated() {
                    let line = raw.trimmingWhitespace()
                    for key in ["ExecStart=", "ExecStartPre="] where line.hasPrefix(key) {
                        var value = String(line.dropFirst(key.count))
                        while let first = value.first, "-@+!:".contains(first) { value.removeFirst() }
                        let program = Self.words(value).first ?? ""
                        add(program, value, unit, i + 1, via: "systemd", condition: nil, chain: [link])
                    }
                }
            }
        }

        // MARK: cron

        mutating func readCron(_ file: FileEntry, systemWide: Bool) {
            for (i, raw) in lines(file).enumerated() {
                let line = raw.trimmingWhitespace()
                guard !line.isEmpty, !line.hasPrefix("#") else { continue }
                var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if fields.first?.contains("=") == true { continue }                 // MAILTO=…
                let skip = fields.first?.hasPrefix("@") == true ? 1 : 5
                guard fields.count > skip + (systemWide ? 1 : 0) else { continue }
                fields.removeFirst(skip + (systemWide ? 1 : 0))
                let command = fields.joined(separator: " ")
                add(fields[0], command, file, i + 1, via: "cron", condition: "a cron schedule", chain: [])
            }
        }

        // MARK: shell lexing (enough for init scripts)

        /// The text before an unquoted `#` that starts a word.
        static func stripComment(_ line: String) -> String {
            var quote: Character?
            var previous: Character = " "
            for index in line.indices {
                let c = line[index]
                if let open = quote {
                    if c == open { quote = nil }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == "#", previous == " " || previous == "\t" || previous == ";" {
                    return String(line[..<index])
                }
                previous = c
            }
            return line
        }

        /// Splits a line into simple commands at unquoted `;`, `&&`, `||`, `|` and `&`; a command
        /// after `&&` or `||` is conditional.
        static func split(_ line: String) -> [(text: String, conditional: Bool)] {
            var result: [(String, Bool)] = []
            var current = ""
            var quote: Character?
            var conditional = false
            let characters = Array(line)
            var i = 0
            func flush(_ next: Bool) {
                let text = current.trimmingWhitespace()
                if !text.isEmpty { result.append((String(text), conditional)) }
                current = ""
                conditional = next
            }
            while i < characters.count {
                let c = characters[i]
                if let open = quote {
                    if c == open { quote = nil }
                    current.append(c)
                } else if c == "\"" || c == "'" {
                    quote = c
                    current.append(c)
                } else if (c == "&" || c == "|"), i + 1 < characters.count, characters[i + 1] == c {
                    flush(true)
                    i += 1
                } else if c == ";" || c == "&" || c == "|" {
                    if c == ";", i + 1 < characters.count, characters[i + 1] == ";" { i += 1 }
                    flush(c == "|" ? conditional : false)
                } else {
                    current.append(c)
                }
                i += 1
            }
            flush(false)
            return result
        }

        /// Words of a simple command, quotes removed (no globbing, no expansion).
        /// A word that assigns a variable (`NAME=value`, an environment prefix of a command).
        static func isAssignment(_ word: String) -> Bool {
            word.contains("=") && word.first?.isLetter == true
        }

        static func words(_ text: String) -> [String] {
            var words: [String] = []
            var current = ""
            var quote: Character?
            var inWord = false
            for c in text {
                if let open = quote {
                    if c == open { quote = nil } else { current.append(c) }
                } else if c == "\"" || c == "'" {
                    quote = c
                    inWord = true
                } else if c == " " || c == "\t" {
                    if inWord { words.append(current); current = ""; inWord = false }
                } else {
                    current.append(c)
                    inWord = true
                }
            }
            if inWord { words.append(current) }
            return words
        }

        /// `$DAEMON` / `${DAEMON}` replaced by a value assigned earlier in the script.
        static func substitute(_ word: String, _ variables: [String: String]) -> String {
            guard word.hasPrefix("$") else { return word }
            let name = String(word.dropFirst()).trimmingCharacters(in: "{}")
            return variables[name] ?? word
        }

        /// `/etc/init.d/rcS` → `etc/init.d/rcS`.
        static func relative(_ path: String) -> String {
            var path = Substring(path)
            while path.hasPrefix("/") { path = path.dropFirst() }
            return String(path)
        }
    }
}

/// Reads the lines of an OpenWrt procd init script that decide from UCI whether the service
/// starts: `config_load PACKAGE`, `config_get_bool VAR SECTION OPTION [DEFAULT]` (a named section
/// or `@TYPE[0]`), then a test of VAR followed by `&& return` / `|| return` (or exit). When the
/// test makes the script return, `off` says why; commands after it are not starts. Sections
/// named through a variable (config_foreach callbacks) are not resolved: the service counts as
/// started, as before.
struct ProcdGate {
    var package: String?
    var booleans: [String: (value: Bool, source: String)] = [:]
    var off: String?

    /// Whether the line was one of these statements.
    mutating func read(_ line: String, line number: Int, config: (String) -> UCIFile?) -> Bool {
        let words = BootServices.Builder.words(line).map { $0.trimmingCharacters(in: "\"'") }
        guard let first = words.first else { return false }
        switch first {
        case "config_load":
            guard words.count >= 2 else { return false }
            package = words[1]
            return true
        case "config_get_bool":
            guard words.count >= 4, let package, !words[2].hasPrefix("$"), let file = config(package) else { return false }
            let section = words[2], option = words[3]
            let fallback = words.count >= 5 ? ProcdGate.bool(words[4]) ?? false : false
            let sections = section.hasPrefix("@") ? file.sections(ofType: String(section.dropFirst().prefix { $0 != "[" }))
                : file.sections.filter { $0.name == section }
            guard let found = sections.first else { return false }
            let value = found.option(option).flatMap { ProcdGate.bool($0.value) } ?? fallback
            let set = found.option(option).map { "option \(option) '\($0.value)' (line \($0.line))" } ?? "\(option) unset (default \(fallback ? 1 : 0))"
            booleans[words[1]] = (value, "etc/config/\(package) \(section): \(set)")
            return true
        case "[", "test":
            // [ "$VAR" -eq 0 ] && return …   /   [ "$VAR" = 1 ] || return …
            guard off == nil, let close = words.firstIndex(of: first == "[" ? "]" : words.last ?? ""),
                  close + 2 < words.count || (first == "test" && words.count >= 6) else { return false }
            let test = Array(words[1..<(first == "[" ? close : min(4, words.count))])
            let rest = Array(words[(first == "[" ? close + 1 : 4)...])
            guard test.count == 3, rest.count >= 2, ["&&", "||"].contains(rest[0]), ["return", "exit"].contains(rest[1]) else { return false }
            let name = test[0].trimmingCharacters(in: "${}")
            guard test[0].hasPrefix("$"), let known = booleans[name], let literal = Int(test[2]) else { return false }
            let value = known.value ? 1 : 0
            let holds: Bool
            switch test[1] {
            case "-eq", "=", "==": holds = value == literal
            case "-ne", "!=": holds = value != literal
            case "-gt": holds = value > literal
            case "-lt": holds = value < literal
            case "-ge": holds = value >= literal
            case "-le": holds = value <= literal
            default: return false
            }
            if holds == (rest[0] == "&&") { off = known.source }
            return true
        default:
            return false
        }
    }

    static func bool(_ raw: String) -> Bool? {
        switch raw.lowercased() {
        case "1", "on", "true", "yes", "enabled": true
        case "0", "off", "false", "no", "disabled": false
        default: nil
        }
    }
}
