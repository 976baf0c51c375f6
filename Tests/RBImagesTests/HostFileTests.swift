import Foundation
import RBImages
import RBTestSupport
import Testing

/// Image files are mapped read-only; every access goes through guarded copies, so a file that
/// shrinks under the scan is an error naming the offset, never a SIGBUS.
@Suite("Host files")
struct HostFileTests {
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i &* 31 &+ (i >> 8)) }
    }

    @Test("reads and strided gathers return the file's bytes")
    func readsAndGathers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bytes = Self.pattern(1 << 20)
        try Data(bytes).write(to: URL(fileURLWithPath: dir.url("image.bin")))
        let file = try HostFile.open(dir.url("image.bin"))
        #expect(try file.read(at: 12345, count: 1000) == Array(bytes[12345..<13345]))
        #expect(try file.read(at: UInt64(bytes.count - 10), count: 100) == Array(bytes.suffix(10)))
        #expect(try file.read(at: UInt64(bytes.count), count: 100) == [])
        // Sixteen bytes every 2112 (NAND page + spare), from a spare offset.
        let count = 400
        var gathered = [UInt8](repeating: 0, count: count * 16)
        try gathered.withUnsafeMutableBytes { try ByteSource(file: file).gather(at: 2048, stride: 2112, length: 16, count: count, into: $0) }
        var expected: [UInt8] = []
        for i in 0..<count {
            let start = 2048 + i * 2112
            expected += bytes[start..<(start + 16)]
        }
        #expect(gathered == expected)
        // A gather reaching past the end is refused before any copy.
        #expect(throws: ImageError.self) {
            try gathered.withUnsafeMutableBytes { try ByteSource(file: file).gather(at: UInt64(bytes.count - 2000), stride: 2112, length: 16, count: 2, into: $0) }
        }
    }

    @Test("a file truncated while open is a read error at the offset, not a crash")
    func truncatedUnderTheReader() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.url("image.bin")
        try Data(Self.pattern(1 << 20)).write(to: URL(fileURLWithPath: path))
        let file = try HostFile.open(path)
        #expect(truncate(path, 4096) == 0)
        #expect(try file.read(at: 100, count: 100) == Array(Self.pattern(200)[100..<200]))
        do {
            _ = try file.read(at: 512 << 10, count: 8192)
            Issue.record("a read past the new end succeeded")
        } catch {
            #expect(error.code == .unreadable)
            #expect(error.message.contains("\(512 << 10)"), "\(error.message)")
        }
        var tags = [UInt8](repeating: 0, count: 64 * 16)
        #expect(throws: ImageError.self) {
            try tags.withUnsafeMutableBytes { try ByteSource(file: file).gather(at: 2048, stride: 2112, length: 16, count: 64, into: $0) }
        }
    }
}
