@testable import RBChecks
import Testing

@Suite("KeywordScan: the credential key words where the regex finds them")
struct KeywordScanTests {
    static let regex = try! Regex(CredentialCheck.keywords)

    static func expected(_ bytes: [UInt8], limit: Int = 4096) -> [Int] {
        regex.matches(in: bytes, limit: limit).map(\.range.lowerBound)
    }

    @Test("Same offsets as (?i)pass|pwd|secret|token|key: mixed case, overlaps, block edges, truncated words at the end")
    func agreesWithTheRegex() throws {
        let scan = try KeywordScan()
        let pieces = ["pass", "PASS", "PaSs", "pwd", "pWD", "secret", "SeCrEt", "token", "TOKEN", "key", "KEY", "kEy",
                      "passecret", "pppass", "keykey", "tokey", "sepass", "pas", "secre", "toke", "ke", "p", "s",
                      "password=", "api_key: ", "x", " ", "\n", "é", "\u{0}", "@", "`", "{", "[", "P\u{20}ASS"]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<400 {
            var bytes: [UInt8] = []
            let count = round % 7 == 0 ? 1 : Int.random(in: 1...60, using: &generator)
            for _ in 0..<count { bytes += Array(pieces.randomElement(using: &generator)!.utf8) }
            // Shift the words across the 32-byte blocks.
            bytes = [UInt8](repeating: UInt8(ascii: "a"), count: round % 37) + bytes
            #expect(scan.starts(in: bytes, limit: 4096) == Self.expected(bytes), "round \(round): \(String(decoding: bytes, as: UTF8.self))")
        }
        // Bytes that fold onto a letter only by bit 5 (@ and `, [ and {) start no word.
        #expect(scan.starts(in: Array("@ASS `ASS [EY {EY".utf8), limit: 10).isEmpty)
        #expect(scan.starts(in: Array("key key key".utf8), limit: 2) == [0, 4])
    }

    @Test("KELVIN SIGN and LONG S, which PCRE2 folds onto k and s, are left to the regex")
    func unicodeFoldsGoToTheRegex() throws {
        let scan = try KeywordScan()
        for text in ["\u{212A}ey = 1", "\u{017F}ecret: x", "pa\u{017F}s", "to\u{212A}en and key"] {
            let bytes = Array(text.utf8)
            #expect(scan.starts(in: bytes, limit: 10) == Self.expected(bytes, limit: 10))
            #expect(!Self.expected(bytes, limit: 10).isEmpty)
        }
    }
}
