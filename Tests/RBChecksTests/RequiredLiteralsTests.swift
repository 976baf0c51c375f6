@testable import RBChecks
import RBTestSupport
import Testing

@Suite("RequiredLiterals: texts every match of an expression holds")
struct RequiredLiteralsTests {
    static func texts(_ pattern: String, ignoreCase: Bool = false) -> [String]? {
        RequiredLiterals(pattern: pattern, ignoreCase: ignoreCase).map { $0.literals.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test("The shapes of the shipped rules, and what is left unmodelled")
    func readsTheTexts() {
        #expect(Self.texts(#"\bcurl\b[^\n|;&]*\s(-[a-zA-Z]*k[a-zA-Z]*|--insecure)(\s|$)"#) == ["curl"])
        #expect(Self.texts(#"\bwget\b[^\n|;&]*\s--no-check-certificate\b"#) == ["--no-check-certificate"])
        #expect(Self.texts(#"(?i)(?<=ssl|ssl_|ssl-)verify([_-]?peer)?\s*[=:]\s*["']?(0|false|no|off)\b"#) == ["verify"])
        #expect(Self.texts(#"^\s*(export\s+)?["']?telnetd?\b"#) == ["telnet"])
        #expect(Self.texts(#"[?&](?:user(?:name)?|login|passwd)="#) == ["user", "login", "passwd"])
        #expect(Self.texts("colou?r") == ["colo"])
        #expect(Self.texts("abc{2}x") == ["abc"])
        #expect(Self.texts(#"example\.com"#) == ["example.com"])
        #expect(Self.texts("(?<name>alpha)|beta") == ["alpha", "beta"])
        // Under case folding `k` and `s` end a text (PCRE2's UTF mode folds them onto U+212A, U+017F).
        #expect(Self.texts("(?i)secret") == ["ecret"])
        #expect(Self.texts("Password", ignoreCase: true) == ["word"])
        #expect(Self.texts("(?i)verify") == ["verify"])
        // No requirement: a branch without a long enough text, an optional group, whitespace.
        #expect(Self.texts("abc|de") == nil)
        #expect(Self.texts("abc|") == nil)
        #expect(Self.texts("ab c") == nil)
        #expect(Self.texts("(abc)?d") == nil)
        #expect(Self.texts("abc{0,2}") == nil)
        // Constructs not modelled.
        #expect(Self.texts(#"\Qa.b\E"#) == nil)
        #expect(Self.texts("(?x) abc def") == nil)
        #expect(Self.texts(#"abc\x41def"#) == nil)
        #expect(Self.texts(#"(abc)\1"#) == nil)
        #expect(Self.texts("abc{,2}") == nil)
        #expect(Self.texts("(?(1)abc|def)") == nil)
        #expect(Self.texts("(*UTF)abc") == nil)
    }

    /// Random patterns and texts over a small alphabet: whenever PCRE2 finds a match, the text
    /// holds one of the pattern's required texts.
    @Test("Never rules out a text PCRE2 matches")
    func soundAgainstPCRE2() throws {
        let patternPieces = ["abc", "cde", "e?", "f*", "g+", "(abc|cde)", "(?:efg|ghi)?", "[a-c]", ".", #"\b"#, "^", "$",
                             "(?i)", "k", "s", "Kes", "ask", #"\."#, "x{2}", "(?=abc)", "(?<=c)", "|", #"\s"#, "(?:abc)+",
                             "[^a]", "é", "ghi", "(?i:sk)", "[]a]", "(?#note)", "b{1,3}", "d+?"]
        let textPieces = ["ab", "abc", "cde", "efg", "ghi", "AB", "ABC", "GHI", "K", "k", "s", "S", "e", "g", "x", "xx", ".",
                          " ", "\n", "é", "\u{212A}", "\u{017F}", "c", "f", "ask", "\u{212A}es", "a\u{017F}k"]
        var generator = SplitMix(seed: 2026)
        var checked = 0, withTexts = 0
        for _ in 0..<1500 {
            let count = Int(generator.next() % 5) + 1
            let pattern = (0..<count).map { _ in patternPieces[Int(generator.next() % UInt64(patternPieces.count))] }.joined()
            let ignoreCase = generator.next() % 4 == 0
            guard let regex = try? Regex(pattern, ignoreCase: ignoreCase) else { continue }
            guard let required = RequiredLiterals(pattern: pattern, ignoreCase: ignoreCase) else { continue }
            withTexts += 1
            for _ in 0..<80 {
                let length = Int(generator.next() % 10) + 1
                let text = (0..<length).map { _ in textPieces[Int(generator.next() % UInt64(textPieces.count))] }.joined()
                let bytes = Array(text.utf8)
                if regex.hasMatch(in: bytes) {
                    checked += 1
                    #expect(required.mayMatch(bytes), "pattern \(pattern) (ignoreCase \(ignoreCase)) matches \(text.debugDescription)")
                }
            }
        }
        // The comparison is not vacuous: many patterns had texts, and many texts matched.
        #expect(withTexts > 300 && checked > 1000, "\(withTexts) patterns with texts, \(checked) matches checked")
    }

    @Test("The search: either case, anchors on the rarest byte, edges of the buffer")
    func searches() throws {
        let caseless = try #require(RequiredLiterals(pattern: "(?i)verify", ignoreCase: false))
        #expect(caseless.mayMatch(Array("ssl_VeRiFy=0".utf8)))
        #expect(caseless.mayMatch(Array("verify".utf8)))
        #expect(!caseless.mayMatch(Array("verif".utf8)))
        #expect(!caseless.mayMatch(Array("erify verifx".utf8)))
        let exact = try #require(RequiredLiterals(pattern: "curl", ignoreCase: false))
        #expect(exact.mayMatch(Array("x curl".utf8)) && !exact.mayMatch(Array("CURL".utf8)) && !exact.mayMatch([]))
        #expect(RequiredLiterals.rarest(Array("verify".utf8)) == 0)
        #expect(RequiredLiterals.rarest(Array("--no".utf8)) == 0)
    }
}
