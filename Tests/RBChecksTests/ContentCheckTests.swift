@testable import RBChecks
import RBCore
import Testing

@Suite("file.regex")
struct RegexCheckTests {
    @Test func reportsEachMatchingLineWithItsNumber() async throws {
        let (obs, diags) = try await run(RegexCheck.self, "{paths: ['etc/init.d/*'], pattern: 'telnetd', comments: ['#']}", files: [
            "etc/init.d/rcS": .file("#!/bin/sh\n# telnetd disabled\ntelnetd -l /bin/sh\nfoo; telnetd & telnetd\n"),
            "etc/init.d/other": .file("echo ok\n"),
            "etc/inittab": .file("telnetd\n"),
        ])
        #expect(diags.isEmpty)
        #expect(obs.map(\.location) == [Location(path: "etc/init.d/rcS", line: 3), Location(path: "etc/init.d/rcS", line: 4)])
        #expect(obs[0].evidence.snippet == "telnetd -l /bin/sh")
    }

    @Test("literal: the pattern runs only near the literal, in binaries too, with the same lines as a whole-file search; a literal missing from a pattern is an option error")
    func literalWindows() async throws {
        let options = #"{paths: ['usr/bin/*'], binary: true, literal: '%s', window: 64, pattern: '(?i)\b(password|token)\s*=\s*%s'}"#
        var binary: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 0, 0]
        binary += Array(String(repeating: "filler %d text\n", count: 400).utf8) + [0]
        binary += Array("login failed, Password=%s\n".utf8) + [0, 0]
        binary += Array(String(repeating: "%s %s\n", count: 50).utf8) + Array("token = %s".utf8)
        let (obs, diags) = try await run(RegexCheck.self, options, files: [
            "usr/bin/camd": .init(content: binary),
            "usr/bin/clean": .file("password=%d only\n"),
        ])
        #expect(diags.isEmpty)
        #expect(obs.map(\.location) == [Location(path: "usr/bin/camd", line: 401), Location(path: "usr/bin/camd", line: 452)])
        let whole = try await run(RegexCheck.self, #"{paths: ['usr/bin/*'], binary: true, pattern: '(?i)\b(password|token)\s*=\s*%s'}"#,
                                  files: ["usr/bin/camd": .init(content: binary)])
        #expect(whole.observations.map(\.location) == obs.map(\.location))
        #expect(throws: CheckOptionError.self) {
            _ = try RegexCheck(options: try NodeDecoder(file: "o").decode(RegexCheck.Options.self,
                from: try NodeDecoder.compose("{paths: [a], literal: '%d', pattern: 'password=%s'}", file: "o")))
        }
    }

    @Test func aMatchStartingOnTheNewlineBelongsToTheNextLine() async throws {
        let (obs, _) = try await run(RegexCheck.self, #"{paths: ['a'], pattern: '(^|[\s;])telnetd\b'}"#, files: [
            "a": .file("::sysinit:/etc/init.d/rcS\ntelnetd -l /bin/sh\n"),
        ])
        #expect(obs.map(\.location.line) == [2])
    }

    @Test func commentMarkersInsideQuotesAreText() async throws {
        let (obs, _) = try await run(RegexCheck.self, "{paths: ['a'], pattern: 'secret', comments: ['#']}", files: [
            "a": .file("x = \"# secret\"\ny = 1 # secret\n#secret\n"),
        ])
        #expect(obs.map(\.location.line) == [1])
    }

    @Test func presentModeFindsAbsence() async throws {
        let options = "{paths: ['etc/init.d/*'], pattern: '\\bntpd\\b', expect: present}"
        let (missing, _) = try await run(RegexCheck.self, options, files: ["etc/init.d/rcS": .file("app &\n")])
        #expect(missing.count == 1)
        let (present, _) = try await run(RegexCheck.self, options, files: ["etc/init.d/rcS": .file("ntpd -p x\n")])
        #expect(present.isEmpty)
    }

    @Test func secretsAreMaskedEverywhere() async throws {
        let (obs, _) = try await run(RegexCheck.self, "{paths: ['**'], pattern: 'AKIA[0-9A-Z]{16}', secret: true, message: 'key {match} in {path}'}",
                                     files: ["etc/cloud.env": .file("AWS_KEY=AKIAIOSFODNN7EXAMPLE\n")])
        let o = try #require(obs.first)
        #expect(!o.message.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(!(o.evidence.snippet ?? "").contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(!o.evidence.key.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(o.message.contains("AKIA"))
    }

    @Test func binaryFilesAreSkippedUnlessAsked() async throws {
        let files: [String: MemoryTree.Item] = ["bin/x": .init(content: Array("\u{0}\u{1}telnetd\u{0}".utf8))]
        let (skipped, _) = try await run(RegexCheck.self, "{paths: ['**'], pattern: 'telnetd'}", files: files)
        #expect(skipped.isEmpty)
        let (scanned, _) = try await run(RegexCheck.self, "{paths: ['**'], pattern: 'telnetd', binary: true}", files: files)
        #expect(scanned.count == 1)
    }

    @Test func configTargetsMatchByFileName() async throws {
        let (obs, _) = try await run(RegexCheck.self, "{paths: ['etc/lighttpd/lighttpd.conf'], pattern: 'enable'}",
                                     files: ["lighttpd.conf": .file("dir-listing.activate = \"enable\"\n")], kind: .config)
        #expect(obs.first?.location == Location(path: "lighttpd.conf", line: 1))
    }

    @Test func badPatternIsAnOptionError() {
        #expect(optionError(RegexCheck.self, "{paths: [a], pattern: '('}")?.contains("pattern") == true)
        #expect(optionError(RegexCheck.self, "{paths: [], pattern: 'a'}")?.contains("paths") == true)
    }
}

@Suite("config.keyvalue")
struct KeyValueCheckTests {
    @Test func sysctlLastOccurrenceWins() async throws {
        let options = "{paths: ['etc/sysctl.conf'], key: kernel.randomize_va_space, expect: {op: eq, value: 2}}"
        let (bad, _) = try await run(KeyValueCheck.self, options, files: ["etc/sysctl.conf": .file("kernel.randomize_va_space = 2\nkernel.randomize_va_space=0\n")])
        #expect(bad.map(\.location.line) == [2])
        #expect(bad.first?.evidence.facts["value"] == "0")
        let (good, _) = try await run(KeyValueCheck.self, options, files: ["etc/sysctl.conf": .file("kernel.randomize_va_space = 0\nkernel.randomize_va_space = 2\n")])
        #expect(good.isEmpty)
    }

    @Test func parsesEveryFormat() {
        let ini = KeyValueCheck.parse("top=1\n[server]\nport = 8080 ; comment\n[Auth]\nlockout=\"5\"\n", format: .ini, comments: ["#", ";"])
        #expect(ini.map(\.key) == ["top", "server.port", "Auth.lockout"])
        #expect(ini.map(\.value) == ["1", "8080", "5"])
        let sshd = KeyValueCheck.parse("PermitRootLogin yes\n  PasswordAuthentication\tno\n", format: .space, comments: ["#"])
        #expect(sshd.map(\.key) == ["PermitRootLogin", "PasswordAuthentication"])
        #expect(sshd.map(\.value) == ["yes", "no"])
        let shell = KeyValueCheck.parse("export TELNET='1'\nNAME=\"cam\"\n", format: .shell, comments: ["#"])
        #expect(shell.map(\.key) == ["TELNET", "NAME"])
        #expect(shell.map(\.value) == ["1", "cam"])
        let colon = KeyValueCheck.parse("timeout: 300\n", format: .colon, comments: ["#"])
        #expect(colon.first?.value == "300")
        #expect(colon.first?.line == 1)
    }

    @Test("CRLF files (saved on Windows, vendor exports) read line by line like LF ones")
    func crlfFilesAreLines() async throws {
        let ini = KeyValueCheck.parse("[account]\r\nuser = admin\r\npassword = \"camera123\" ; note\r\n\r\n", format: .ini, comments: ["#", ";"])
        #expect(ini.map(\.key) == ["account.user", "account.password"])
        #expect(ini.map(\.value) == ["admin", "camera123"])
        #expect(ini.map(\.line) == [2, 3])
        let options = "{paths: ['etc/sysctl.conf'], key: kernel.randomize_va_space, expect: {op: eq, value: 2}}"
        let (bad, _) = try await run(KeyValueCheck.self, options, files: ["etc/sysctl.conf": .file("kernel.randomize_va_space = 2\r\nkernel.randomize_va_space=0\r\n")])
        #expect(bad.map(\.location.line) == [2])
        #expect(bad.first?.evidence.facts["value"] == "0")
    }

    @Test("Lines, trimming and comments work on bytes: multi-byte text, quotes and markers keep their place")
    func byteLevelTextHelpers() {
        #expect("a\r\nb\n\nc".splitLines() == ["a", "b", "", "c"])
        #expect("a\r\nb\n\r\nc\n".splitLines(omittingEmpty: true) == ["a", "b", "c"])
        #expect("".splitLines() == [""])
        #expect(" \t\r\n".trimmingWhitespace() == "")
        #expect("\t é ü \r\n".trimmingWhitespace() == "é ü")
        #expect(TextLines.stripComment("key = 'a # b' # comment", markers: ["#"]) == "key = 'a # b' ")
        #expect(TextLines.stripComment("# whole", markers: ["#"]) == "")
        #expect(TextLines.stripComment("url=http://x//y // c", markers: ["//"]) == "url=http://x//y ")
        #expect(TextLines.stripComment("naïve=1 ;ü", markers: [";"]) == "naïve=1 ")
        let pairs = KeyValueCheck.parse("clé = « valeur »\n", format: .equals, comments: ["#"])
        #expect(pairs.first?.key == "clé")
        #expect(pairs.first?.value == "« valeur »")
    }

    @Test func numericComparisonsAndMissingKeys() async throws {
        let options = "{paths: ['**/*.ini'], format: ini, key: auth.lockout_threshold, expect: {op: le, value: 5}, missing: fail}"
        let (tooHigh, _) = try await run(KeyValueCheck.self, options, files: ["etc/cam.ini": .file("[auth]\nlockout_threshold = 10\n")])
        #expect(tooHigh.count == 1)
        let (ok, _) = try await run(KeyValueCheck.self, options, files: ["etc/cam.ini": .file("[auth]\nlockout_threshold = 3\n")])
        #expect(ok.isEmpty)
        let (missing, _) = try await run(KeyValueCheck.self, options, files: ["etc/cam.ini": .file("[auth]\n")])
        #expect(missing.count == 1)
        #expect(missing.first?.status == .fail)
    }

    @Test func expectationOperators() throws {
        #expect(optionError(KeyValueCheck.self, "{paths: [a], key: k, expect: {op: eq, value: [1, 2]}}") != nil)
        #expect(optionError(KeyValueCheck.self, "{paths: [a], key: k, expect: {op: around, value: 1}}")?.contains("not one of") == true)
        #expect(optionError(KeyValueCheck.self, "{paths: [a], key: k, expect: {op: matches, value: '('}}") != nil)
    }
}
