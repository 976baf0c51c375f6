import RBCrypto
import Testing

/// Known answers from the standards, so a wrong algorithm mapping or a truncated digest cannot
/// hide behind a self-consistent round trip.
@Suite("Digests: FIPS 180 / RFC 1321 vectors, streaming equals one-shot, HMAC (RFC 4231)")
struct DigestTests {
    static let abc = Array("abc".utf8)
    static let twoBlock = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
    static let twoBlock1024 = Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)

    /// (algorithm, message, expected hex): RFC 1321 §A.5 for MD5, FIPS 180-2 appendices and
    /// the NIST CAVS short-message examples for SHA-1 and SHA-2.
    static let vectors: [(Digest.Algorithm, [UInt8], String)] = [
        (.md5, [], "d41d8cd98f00b204e9800998ecf8427e"),
        (.md5, Array("a".utf8), "0cc175b9c0f1b6a831c399e269772661"),
        (.md5, abc, "900150983cd24fb0d6963f7d28e17f72"),
        (.md5, Array("message digest".utf8), "f96b697d7cb7938d525a2f31aaf161d0"),
        (.md5, Array("abcdefghijklmnopqrstuvwxyz".utf8), "c3fcd3d76192e4007dfb496cca67e13b"),
        (.md5, Array(String(repeating: "1234567890", count: 8).utf8), "57edf4a22be3c955ac49da2e2107b67a"),
        (.sha1, [], "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (.sha1, abc, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha1, twoBlock, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (.sha224, abc, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
        (.sha224, twoBlock, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525"),
        (.sha256, [], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (.sha256, abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha256, twoBlock, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (.sha384, abc, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (.sha384, twoBlock1024, "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"),
        (.sha512, abc, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        (.sha512, twoBlock1024, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"),
    ]

    @Test("One-shot digests match the published vectors", arguments: vectors.indices)
    func oneShot(index: Int) {
        let (algorithm, message, expected) = Self.vectors[index]
        let digest = Digest.hash(message, algorithm)
        #expect(digest.map(Hex.encode) == expected)
        #expect(digest?.count == algorithm.length)
    }

    @Test("A streamed digest fed in uneven pieces (slices included) equals the one-shot digest")
    func streamingEqualsOneShot() {
        for (algorithm, message, expected) in Self.vectors {
            let digest = Digest(algorithm)
            var at = 0, step = 1
            while at < message.count {
                let end = min(message.count, at + step)
                digest.update(message[at..<end])
                at = end
                step += 3
            }
            #expect(digest.finalize().map(Hex.encode) == expected, "\(algorithm)")
        }
    }

    @Test("One million 'a' (FIPS 180-2): streamed through raw buffers of 1000 bytes")
    func millionA() {
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        let sha1 = Digest(.sha1), sha256 = Digest(.sha256)
        for _ in 0..<1000 {
            piece.withUnsafeBytes { sha1.update($0); sha256.update($0) }
        }
        #expect(sha1.finalize().map(Hex.encode) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        #expect(sha256.finalize().map(Hex.encode) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("After finalize the same digest starts a new message")
    func reuse() {
        let digest = Digest(.md5)
        digest.update(Array("garbage".utf8))
        _ = digest.finalize()
        digest.update(Self.abc)
        #expect(digest.finalize().map(Hex.encode) == "900150983cd24fb0d6963f7d28e17f72")
        // Nothing fed: the empty message.
        #expect(digest.finalize().map(Hex.encode) == "d41d8cd98f00b204e9800998ecf8427e")
    }

    @Test("SHA-256 helpers: raw and lower-case hex")
    func sha256Helpers() {
        #expect(Digest.sha256(Self.abc) == Digest.hash(Self.abc, .sha256))
        #expect(Digest.sha256Hex(Self.abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256Hex(Self.abc[...]) == Digest.sha256Hex(Self.abc))
    }

    /// RFC 4231 test cases 1 and 2 (HMAC-SHA-256), and RFC 2202 test case 2 (HMAC-MD5).
    @Test("HMAC known answers")
    func hmac() {
        let key1 = [UInt8](repeating: 0x0b, count: 20)
        #expect(Digest.hmac(Array("Hi There".utf8), key: key1, .sha256).map(Hex.encode)
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let jefe = Array("Jefe".utf8), question = Array("what do ya want for nothing?".utf8)
        #expect(Digest.hmac(question, key: jefe, .sha256).map(Hex.encode)
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Digest.hmac(question, key: jefe, .md5).map(Hex.encode) == "750c783e6ab0b503eaa86e310a5db738")
    }

    @Test("Random bytes: the length asked for, and two draws differ")
    func random() throws {
        let a = try #require(SecureRandom.bytes(32)), b = try #require(SecureRandom.bytes(32))
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
        #expect(SecureRandom.bytes(0) == [])
    }

    @Test("Hex: lower-case out, either case in, odd lengths and non-digits rejected")
    func hex() {
        #expect(Hex.encode([0x00, 0x9f, 0xff]) == "009fff")
        #expect(Hex.decode("009FfF") == [0x00, 0x9f, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("") == nil)
    }
}
