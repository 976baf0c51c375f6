import RBCrypto
import Testing

@Suite("Base64: RFC 4648 vectors, and what each decoding mode forgives")
struct Base64Tests {
    /// RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 §10: encoding, and decoding in every mode", arguments: vectors.indices)
    func rfc4648(index: Int) {
        let (plain, encoded) = Self.vectors[index]
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        for mode in [Base64.Decoding.strict, .ignoringWhitespace, .lenient] {
            #expect(Base64.decode(encoded, mode) == Array(plain.utf8), "\(mode)")
        }
    }

    @Test("Every byte value survives a round trip, at every length modulo 3")
    func roundTrip() {
        let bytes = (0..<258).map { UInt8($0 % 256) }
        for length in [0, 1, 2, 3, 255, 256, 257, 258] {
            let part = Array(bytes.prefix(length))
            #expect(Base64.decode(Base64.encode(part)) == part, "\(length)")
        }
    }

    @Test("Strict: whole groups, padding only at the end, no white space, nothing outside the alphabet")
    func strict() {
        for bad in ["Zm9", "Zg=", "Zg===", "Z===", "====", "Zg==Zg==", "Zm=v", "Zm9v\n", " Zm9v", "Zm9v YmFy", "Zm9-", "Zm9_", "Zm9v!"] {
            #expect(Base64.decode(bad, .strict) == nil, "\(bad)")
        }
        #expect(Base64.decode(Array("Zm9vYmE=".utf8)[...], .strict) == Array("fooba".utf8))
    }

    @Test("Ignoring white space: wrapped lines decode; the rules of strict hold for the rest")
    func ignoringWhitespace() {
        #expect(Base64.decode("Zm9v\r\nYmFy\n", .ignoringWhitespace) == Array("foobar".utf8))
        #expect(Base64.decode(" Zm9v\tYmE=\n", .ignoringWhitespace) == Array("fooba".utf8))
        #expect(Base64.decode("Zm9 vYg =\n=", .ignoringWhitespace) == Array("foob".utf8))
        for bad in ["Zm9", "Zg==\nZg==", "Zm9v\u{0}", "Zm9v\u{0b}"] {
            #expect(Base64.decode(bad, .ignoringWhitespace) == nil, "\(bad)")
        }
    }

    @Test("Lenient: padding optional and skipped anywhere; a dangling character is still an error")
    func lenient() {
        #expect(Base64.decode("Zg", .lenient) == Array("f".utf8))
        #expect(Base64.decode("Zm9vYmE", .lenient) == Array("fooba".utf8))
        #expect(Base64.decode("Zm=9v\n", .lenient) == Array("foo".utf8))
        #expect(Base64.decode("Zm9vY", .lenient) == nil)
        #expect(Base64.decode("Zm9v*", .lenient) == nil)
    }
}
