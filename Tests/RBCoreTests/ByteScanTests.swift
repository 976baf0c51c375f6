import RBCore
import Testing

@Suite("ByteScan")
struct ByteScanTests {
    static let markers = [Array("-----BEGIN ".utf8), Array("PuTTY-User-Key-File-".utf8), Array("PRIVATE KEY-----".utf8)]

    /// Random bytes with markers planted at chosen offsets: `present` agrees with one `find` per
    /// needle, including needles at the very start and end, overlapping and cut short.
    @Test("present: one memchr pass to the shared byte finds what one search per needle finds")
    func presentAgreesWithFind() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var bytes = (0..<(round * 7 % 900 + 1)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Machine-code-like noise: many of the needles' own bytes.
            for i in stride(from: 0, to: bytes.count, by: 5) { bytes[i] = Array("-PK".utf8)[i % 3] }
            for (k, marker) in Self.markers.enumerated() where (round >> k) & 1 == 1 && bytes.count >= marker.count {
                let at = [0, bytes.count - marker.count, Int.random(in: 0...(bytes.count - marker.count), using: &generator)][round % 3]
                bytes.replaceSubrange(at..<(at + marker.count), with: marker)
            }
            // A needle cut by the end of the buffer is not found.
            if round % 5 == 0 { bytes += Array("-----BEG".utf8) }
            bytes.withUnsafeBufferPointer { buffer in
                let expected = Self.markers.map { ByteScan.find($0, in: buffer) != nil }
                #expect(ByteScan.present(Self.markers, in: buffer) == expected)
                // What is known already stays found and is not searched again.
                #expect(ByteScan.present(Self.markers, in: buffer, skipping: [true, false, false]) == [true] + expected.dropFirst())
            }
        }
    }

    @Test("present: needles without a shared byte are searched one by one; empty input")
    func presentWithoutSharedByte() {
        let needles = [Array("abc".utf8), Array("xyz".utf8)]
        Array("..xyz..".utf8).withUnsafeBufferPointer { #expect(ByteScan.present(needles, in: $0) == [false, true]) }
        [UInt8]().withUnsafeBufferPointer { #expect(ByteScan.present(needles, in: $0) == [false, false]) }
    }
}
