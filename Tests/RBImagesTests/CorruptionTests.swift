import Foundation
import RBCore
import RBImages
import RBTestSupport
import Testing

/// Robustness: every seed image of the corpus, mutated over many seeds (byte flips, bursts of
/// garbage, truncation), must be analysed and read without a crash, and what fails must be a
/// diagnostic naming the image. A crash here takes the test process down: that is the failure.
@Suite("Corrupt images never crash the readers")
struct CorruptionTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus").path
    static let seeds = 0..<600

    @Test(arguments: ["squashfs-gzip.img", "squashfs-xz.img", "newc.cpio", "rootfs.tar.gz", "rootfs.uimg",
                      "le.jffs2", "be-rtime.jffs2", "ext4.img",
                      "le.cramfs", "be.cramfs", "fs.romfs", "v3-be.sqfs", "v2-lzma.sqfs", "v4-be.sqfs", "fs.yaffs2", "fs.ubifs", "fs.ubi", "fw.dav"])
    func mutatedImages(name: String) throws {
        // Seeds of mostly zeros or erased flash are committed gzipped.
        let original: [UInt8]
        if FileManager.default.fileExists(atPath: Self.corpus + "/" + name + ".gz") {
            let dir = try TemporaryDirectory(prefix: "rbscan-seed")
            defer { dir.remove() }
            try ImageFixtures.sh("gzip -dc '\(Self.corpus)/\(name).gz' > '\(dir.url(name))'")
            original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url(name))))
        } else {
            original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name)))
        }
        #expect(original.count > 64)
        let dir = try TemporaryDirectory(prefix: "rbscan-corrupt")
        defer { dir.remove() }
        var limits = ScanLimits()
        limits.maxExtractedBytes = 64 << 20
        var problems = 0
        for seed in Self.seeds {
            var random = SplitMix(seed: UInt64(seed) &* 7919 &+ UInt64(name.utf8.count))
            var bytes = original
            switch random.next() % 4 {
            case 0:
                // A few flipped bytes, mostly in the headers and tables.
                for _ in 0..<(1 + Int(random.next() % 8)) {
                    let span = random.next() % 3 == 0 ? bytes.count : min(bytes.count, 512)
                    bytes[Int(random.next() % UInt64(span))] ^= UInt8(truncatingIfNeeded: 1 + random.next() % 255)
                }
            case 1:
                bytes.removeSubrange(Int(random.next() % UInt64(bytes.count))...)
            case 2:
                let start = Int(random.next() % UInt64(bytes.count))
                for i in start..<min(bytes.count, start + 64) { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
            default:
                for _ in 0..<4 { bytes[Int(random.next() % UInt64(bytes.count))] = 0xff }
                bytes.removeSubrange(Int(UInt64(bytes.count) / 2 + random.next() % UInt64(bytes.count / 2))...)
            }
            let path = dir.url("\(seed)-\(name)")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let analysis = try ImageScanner(limits: limits).analyze(path: path)
            for (_, node) in analysis.filesystems {
                guard let tree = node.tree else { continue }
                for entry in tree.index.entries where entry.type == .file {
                    do { _ = try tree.read(entry, limit: 1 << 20) } catch { problems += 1 }
                }
            }
            for diagnostic in analysis.diagnostics {
                #expect(diagnostic.location?.file.isEmpty == false, "\(diagnostic)")
            }
            if !analysis.diagnostics.isEmpty || analysis.filesystems.isEmpty { problems += 1 }
            unlink(path)
        }
        // Corruption must be noticed somewhere, not silently accepted every time.
        #expect(problems > 0)
    }

    /// A table pointer near 2^64 (found by the libFuzzer image target, 65bc388's CI) is a
    /// corrupt-image diagnostic, not an arithmetic-overflow trap: for squashfs 4.0 in both byte
    /// orders, at the id table's first block pointer (libsquashfs reads the little-endian image
    /// and says "out of bounds"; rbscan's own big-endian reader says "past the end").
    @Test(arguments: ["squashfs-gzip.img", "v4-be.sqfs"])
    func tablePointerPastTheEndIsCorrupt(name: String) throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name)))
        let bigEndian = bytes.starts(with: Array("sqsh".utf8))
        func u64(_ at: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { value, i in value | UInt64(bytes[at + i]) << (8 * UInt64(bigEndian ? 7 - i : i)) }
        }
        // Superblock offset 48: where the id table's block pointers start.
        let idTable = Int(u64(48))
        let pointer: UInt64 = 0xFFFF_FFFF_FFFF_FF00
        for i in 0..<8 { bytes[idTable + i] = UInt8(truncatingIfNeeded: pointer >> (8 * UInt64(bigEndian ? 7 - i : i))) }
        let dir = try TemporaryDirectory(prefix: "rbscan-corrupt")
        defer { dir.remove() }
        let path = dir.url(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: path)
        let d = try #require(analysis.diagnostics.first { $0.code == "image.corrupt" })
        #expect(d.message.contains(bigEndian ? "past the end" : "out of bounds"), "\(d)")
        #expect(d.location?.offset != nil)
    }

    /// A truncated image names the offset of the container it cut.
    @Test func truncatedSquashfsNamesItsOffset() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/rootfs.uimg"))
        let dir = try TemporaryDirectory(prefix: "rbscan-corrupt")
        defer { dir.remove() }
        let path = dir.url("cut.uimg")
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: path))
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: path)
        let d = try #require(analysis.diagnostics.first { $0.code == "image.corrupt" })
        #expect(d.location?.offset == 0)
        #expect(d.message.contains("truncated"))
    }
}
