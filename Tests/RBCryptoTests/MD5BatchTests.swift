import RBCrypto
import RBTestSupport
import Testing

@Suite("MD5Batch: many messages abreast give OpenSSL's MD5 of each")
struct MD5BatchTests {
    /// RFC 1321 A.5's test suite.
    static let rfc1321: [(String, String)] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
    ]

    /// The widths to check: the processor's, the narrower AVX2 kernel, and one lane at a time
    /// (what a processor without either runs when asked for lanes).
    static var widths: [Int] { Array(Set([MD5Batch.width, 8, 1].filter { $0 > 0 && $0 <= max(1, MD5Batch.width) })).sorted() }

    @Test("RFC 1321 A.5 vectors, all in one batch")
    func rfcVectors() {
        for width in Self.widths {
            let batch = MD5Batch(width: width)
            var results: [Int: String] = [:]
            for (i, (message, _)) in Self.rfc1321.enumerated() {
                for (tag, digest) in batch.add(Array(message.utf8), tag: i) { results[tag] = Hex.encode(digest) }
            }
            for (tag, digest) in batch.finish() { results[tag] = Hex.encode(digest) }
            for (i, (message, expected)) in Self.rfc1321.enumerated() {
                #expect(results[i] == expected, "width \(width): \(message)")
            }
        }
    }

    /// Lengths around every block and padding boundary, in an order that keeps lanes of
    /// different lengths side by side, with a budget small enough that `add` hashes before the
    /// queue is complete; a few long messages make lanes switch from body to tail at different
    /// steps.
    @Test("Every length 0…300 and some long ones match OpenSSL, in every lane width and budget")
    func randomLengths() {
        var generator = SplitMix(seed: 0x5eed)
        var messages: [[UInt8]] = (0...300).map { length in (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        for length in [4096, 65_535, 65_536, 65_537, 1 << 20, 3 * (1 << 20) + 17] {
            messages.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        messages.shuffle(using: &generator)
        let expected = messages.map { Digest.hash($0, .md5)! }
        for width in Self.widths {
            for budget in [1 << 10, 16 << 20] {
                let batch = MD5Batch(width: width, budget: budget)
                var results = [[UInt8]?](repeating: nil, count: messages.count)
                var early = 0
                for (i, message) in messages.enumerated() {
                    for (tag, digest) in batch.add(message, tag: i) {
                        #expect(results[tag] == nil, "a message finished twice")
                        results[tag] = digest
                        early += 1
                    }
                }
                for (tag, digest) in batch.finish() { results[tag] = digest }
                let wrong = messages.indices.filter { results[$0] != expected[$0] }.map { messages[$0].count }
                #expect(wrong.isEmpty, "width \(width), budget \(budget): wrong digests for lengths \(wrong.prefix(10))")
                // More messages than lanes: some finished while others were still being added.
                #expect(early > 0, "width \(width), budget \(budget)")
                // The batch is empty and reusable.
                #expect(batch.finish().isEmpty)
                #expect(batch.add([0x61], tag: 0).isEmpty)
                #expect(batch.finish().map { Hex.encode($0.digest) } == ["0cc175b9c0f1b6a831c399e269772661"])
            }
        }
    }
}
