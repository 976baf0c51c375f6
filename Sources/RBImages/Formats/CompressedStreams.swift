import RBCore

/// A compressed stream found by carving. An archive behind the compression (a `.tar.gz`) is
/// read as an archive; anything else is decompressed to a spool and carved. The stream's exact
/// compressed length is its size, so carving goes on right after it.
protocol StreamFormat: ImageFormat {
    static var codec: StreamCodec { get }
    /// Header checks beyond the magic (a coincidental magic costs a failed decode otherwise).
    static func plausible(_ head: [UInt8]) -> Bool
}

extension StreamFormat {
    static var name: String { codec.rawValue }
    static var reader: String { "\(codec.rawValue) decoder (consumed length exact); content carved" }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard plausible(probe.head) else { return nil }
        let region = probe.region
        if ArchiveTree.probe(region) != nil, probe.depth <= probe.limits.maxNesting {
            let extent = try? StreamDecoder.measure(codec, region, name: probe.context)
            if let node = probe.scanner.openArchive(probe, extent: extent, diagnostics: &diagnostics) { return node }
        }
        var node = ContainerNode(format: codec.rawValue, offset: probe.offset, size: nil, details: [:])
        let label = probe.treeName(codec.rawValue)
        let decoded: (spool: HostFile, consumed: UInt64, problem: String?)
        do {
            decoded = try StreamDecoder.decompress(codec, region, name: label, budget: probe.scanner.budget)
        } catch where error.code == .corrupt {
            return nil   // a coincidental magic
        } catch {
            probe.fail(&node, "image." + error.code.rawValue, error.message, &diagnostics)
            return node
        }
        node.size = decoded.consumed
        node.details["decompressed"] = String(decoded.spool.size)
        if probe.tooDeep(&node, &diagnostics) { return node }
        var inner: [Diagnostic] = []
        node.children = probe.scanner.carve(ByteSource(file: decoded.spool), depth: probe.depth, where: label, diagnostics: &inner)
        if codec == .lzma, decoded.problem != nil, node.children.isEmpty { return nil }
        if let problem = decoded.problem {
            node.details["incomplete"] = problem
            diagnostics.append(Diagnostic(.warning, .check, code: "image.truncated-stream",
                "\(codec.rawValue) stream ends early (\(problem)); the \(decoded.spool.size) bytes decompressed so far are scanned",
                at: probe.location))
        }
        diagnostics += inner
        return node
    }
}

enum GzipFormat: StreamFormat {
    static let codec = StreamCodec.gzip
    static let summary = "a gzip stream"
    static let signatures = [FormatSignature([0x1f, 0x8b, 0x08])]
    static func plausible(_ head: [UInt8]) -> Bool { head.count > 3 && head[3] & 0xe0 == 0 }
}

enum XZFormat: StreamFormat {
    static let codec = StreamCodec.xz
    static let summary = "an xz stream"
    static let signatures = [FormatSignature([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])]
    static func plausible(_ head: [UInt8]) -> Bool { head.count >= 12 }
}

enum Bzip2Format: StreamFormat {
    static let codec = StreamCodec.bzip2
    static let summary = "a bzip2 stream"
    static let signatures = [FormatSignature("BZh")]
    static func plausible(_ head: [UInt8]) -> Bool {
        head.count > 9 && (0x31...0x39).contains(head[3]) && head.matches([0x31, 0x41, 0x59, 0x26, 0x53, 0x59], at: 4)
    }
}

enum ZstdFormat: StreamFormat {
    static let codec = StreamCodec.zstd
    static let summary = "a zstd stream"
    static let signatures = [FormatSignature([0x28, 0xb5, 0x2f, 0xfd])]
    static func plausible(_ head: [UInt8]) -> Bool { head.count >= 6 }
}

enum LZ4Format: StreamFormat {
    static let codec = StreamCodec.lz4
    static let summary = "an lz4 stream"
    static let signatures = [FormatSignature([0x04, 0x22, 0x4d, 0x18])]
    static func plausible(_ head: [UInt8]) -> Bool { head.count >= 7 }
}

/// LZMA-alone (`.lzma`, most raw LZMA kernels): properties byte, dictionary size, 64-bit
/// uncompressed size (all ones when unknown). Any properties byte with lc + lp <= 4 (0x5d, lc 3
/// lp 0 pb 2, is the default; OpenWrt's kernels use 0x6d, TP-Link's VxWorks images 0x6e), except
/// 0 (all three zero: rare, and it would be tried at every run of zeros); the dictionary a
/// multiple of 64 KiB of the shape 2^n or 2^n + 2^(n-1). LZMA has no checksum, so a stream that
/// breaks off is kept only when its output holds a container.
enum LZMAFormat: StreamFormat {
    static let codec = StreamCodec.lzma
    static let summary = "an LZMA stream"
    static let signatureSummary: String? = "a properties byte (lc + lp <= 4; not 0), then 00 00 (a dictionary of whole 64 KiB)"
    static let signatures: [FormatSignature] = {
        var properties: [UInt8] = []
        for pb in 0...4 { for lp in 0...4 { for lc in 0...8 where lc + lp <= 4 { properties.append(UInt8((pb * 5 + lp) * 9 + lc)) } } }
        // The default first, so that the docs' table starts with it.
        return ([0x5d] + properties.filter { $0 != 0 && $0 != 0x5d }.sorted()).map { FormatSignature([$0, 0x00, 0x00]) }
    }()

    static func plausible(_ head: [UInt8]) -> Bool {
        guard head.count >= 13 else { return false }
        let dictionary = head.le32(1), size = head.le64(5)
        let shape = dictionary >> dictionary.trailingZeroBitCount
        return dictionary >= 1 << 16 && dictionary <= 1 << 30 && (shape == 1 || shape == 3)
            && (size == UInt64.max || (size > 0 && size < 1 << 34))
    }
}
