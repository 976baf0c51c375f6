import RBCore

/// `web.injection-sinks`: command-injection sinks in CGI programs and web handlers (RB-WEB-009),
/// a heuristic that never fails on its own at high severity:
/// - shell CGIs (`cgi-bin`, `*.cgi`, scripts under the web root): a variable fed by the request
///   (`$QUERY_STRING`, `$HTTP_*`, `$REQUEST_URI`, `$CONTENT_*`, or a variable assigned from one,
///   transitively) reaching `eval`, backticks, `$( )` or an unquoted command argument → low;
/// - ELF handlers (CGI binaries, web servers) that import `system`, `popen` or `execl*` and hold a
///   format string putting `%s` in a shell command (`sh -c …%s`, `%s` next to `;`, `&&`, `|`)
///   → review, with the format string.
public struct InjectionSinkCheck: Check {
    public struct Options: Decodable, Sendable {
        var scripts: [String]?
        var binaries: [String]?
    }

    public static let id = "web.injection-sinks"
    public static let summary = "Flags request data reaching a shell in CGI scripts, and shell format strings in web handler binaries."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let scripts: [Glob]
    let binaries: [Glob]
    static let requestVariable = try? Regex(#"\$\{?(QUERY_STRING|REQUEST_URI|PATH_INFO|CONTENT_TYPE|CONTENT_LENGTH|HTTP_[A-Z_]+|FORM_[A-Za-z_]+)\b"#)
    static let shellFormat = try? Regex(#"(?:\bsh -c [^\x00\n]{0,200}%s|%s[^\x00\n%]{0,2}(?:;|&&|\|)|(?:;|&&|\|)[^\x00\n%]{0,40}%s)[^\x00\n]{0,80}"#)

    public init(options: Options) throws(CheckOptionError) {
        scripts = try PathPatterns.compile(options.scripts ?? ["**/cgi-bin/**", "**/*.cgi", "www/**/*.sh", "**/www/**/*.sh"], key: "scripts")
        binaries = try PathPatterns.compile(options.binaries ?? ["**/cgi-bin/**", "**/*.cgi", "**/{boa,goahead,webs,httpd,lighttpd,uhttpd,mini_httpd,thttpd}"],
                                            key: "binaries")
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var seen = Set<String>()
        for file in context.files(matching: scripts) where file.size < 1 << 20 {
            guard let text = context.readText(file), text.hasPrefix("#!"), text.prefix(40).contains("sh") else { continue }
            seen.insert(file.path)
            observations += Self.shellSinks(text, path: file.path)
        }
        for file in context.files(matching: binaries) where !seen.contains(file.path) && file.size < 32 << 20 {
            guard let content = context.read(file), ELFFile.isELF(content.bytes), let elf = ELFFile(content.bytes),
                  elf.imports.contains(where: { ["system", "popen", "execl", "execlp", "execle"].contains($0) }),
                  let regex = Self.shellFormat else { continue }
            let matches = regex.matches(in: content.bytes, limit: 8)
            guard let first = matches.first else { continue }
            // The whole C string: back to the NUL before the match, on to the NUL after it.
            let bytes = content.bytes
            var start = first.range.lowerBound
            while start > 0, first.range.lowerBound - start < 200, bytes[start - 1] != 0, bytes[start - 1] != 10 { start -= 1 }
            var end = first.range.upperBound
            while end < bytes.count, end - first.range.upperBound < 200, bytes[end] != 0, bytes[end] != 10 { end += 1 }
            let format = String(decoding: bytes[start..<end], as: UTF8.self)
            observations.append(Observation(status: .review,
                message: "\(file.path) calls \(["system", "popen", "execl"].filter { elf.imports.contains($0) }.joined(separator: "/")) and formats shell commands with %s (\(matches.count) such string(s)): \(Snippet.make(format))",
                location: Location(path: file.path),
                evidence: Evidence(key: "shell-format:" + Snippet.make(format), snippet: Snippet.make(format),
                                   facts: ["imports": elf.imports.filter { ["system", "popen", "execl", "execlp", "execle"].contains($0) }.sorted().joined(separator: ",")])))
        }
        return observations
    }

    /// Request-fed variables reaching a shell sink in a CGI shell script.
    static func shellSinks(_ text: String, path: String) -> [Observation] {
        guard let request = requestVariable else { return [] }
        var tainted = Set<String>()
        var observations: [Observation] = []
        for (i, raw) in TextLines(text).lines.enumerated() {
            let line = BootServices.Builder.stripComment(String(raw)).trimmingWhitespace()
            guard !line.isEmpty else { continue }
            let usesRequest = request.hasMatch(in: Array(line.utf8)) || tainted.contains { Self.mentions(line, $0) }
            // NAME=… built from request data: NAME is tainted from here on.
            if let equals = line.firstIndex(of: "="), line[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
               !line[..<equals].isEmpty, usesRequest {
                tainted.insert(String(line[..<equals]))
                // An assignment that runs the data through a shell itself is a sink too.
                if !(line.contains("`") || line.contains("$(")) { continue }
            }
            guard usesRequest else { continue }
            var sink: String?
            if line.hasPrefix("eval ") || line.contains(" eval ") { sink = "eval" }
            else if line.contains("`") { sink = "backticks" }
            else if line.contains("$(") { sink = "$( )" }
            else if let word = Self.unquotedArgument(line, tainted: tainted) { sink = "unquoted argument \(word)" }
            guard let sink else { continue }
            observations.append(Observation(severity: .low,
                message: "request data reaches a shell in \(path) (\(sink)): \(Snippet.make(line))",
                location: Location(path: path, line: i + 1),
                evidence: Evidence(key: "shell-sink:" + sink, snippet: Snippet.make(line))))
        }
        return observations
    }

    static func mentions(_ line: Substring, _ name: String) -> Bool {
        line.contains("$" + name) || line.contains("${" + name)
    }

    /// A tainted `$VAR` used as a bare (unquoted) word of a command other than echo/printf/test.
    static func unquotedArgument(_ line: Substring, tainted: Set<String>) -> String? {
        let words = line.split(separator: " ")
        guard let command = words.first, !["echo", "printf", "[", "test", "if", "case", "local", "export", "return"].contains(String(command)) else { return nil }
        for word in words.dropFirst() where word.hasPrefix("$") {
            let name = word.dropFirst().trimmingCharacters(in: "{};|&")
            if tainted.contains(name) || ["QUERY_STRING", "REQUEST_URI"].contains(name) || name.hasPrefix("HTTP_") { return String(word) }
        }
        return nil
    }
}
